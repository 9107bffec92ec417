/* sim.c - placeholder for `tapir sim`. */
#include "apps.h"

#include <stdio.h>

int sim_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    fprintf(stderr, "tapir: sim is not built yet\n");
    return 1;
}
