/* udp.c - placeholder until UDP lands. */
#include "udp.h"
#include "pkb.h"
#include "stack_impl.h"

int udp_init(struct stack *stack)
{
    (void)stack;
    return 0;
}

void udp_fini(struct stack *stack)
{
    (void)stack;
}
