/* rand.h - the one pseudo-random generator tapir uses (xorshift64*): fast, seeded and
 * reproducible, so a fixed seed gives the same run every time. Not for anything secret:
 * TCP's ISN key comes from getrandom() in real runs (see tcp_init). */
#ifndef TAPIR_RAND_H
#define TAPIR_RAND_H

#include <stdint.h>

/* The next 32-bit number from the generator whose state is *state (never 0). */
static inline uint32_t xorshift64s(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

#endif
