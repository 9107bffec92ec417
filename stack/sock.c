/* sock.c - placeholder until the socket layer lands. */
#include "sock.h"
#include "stack_impl.h"

int sock_init(struct stack *stack)
{
    (void)stack;
    return 0;
}

void sock_fini(struct stack *stack)
{
    (void)stack;
}
