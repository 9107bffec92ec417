/* ip_frag.c - placeholder: fragments are dropped until reassembly lands. */
#include "ip.h"
#include "pkb.h"
#include "stack_impl.h"

int ip_frag_init(struct stack *stack)
{
    (void)stack;
    return 0;
}

void ip_frag_fini(struct stack *stack)
{
    (void)stack;
}

struct pkb *ip_reassemble(struct stack *stack, struct pkb *pkb, const struct ip_hdr *h)
{
    (void)h;
    stack->stats.ip.reasm_limit++;
    pkb_free(pkb);
    return NULL;
}
