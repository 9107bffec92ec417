/* stack/lab.h - what a lab's stub calls until the student writes the function.
 *
 * `make lab-start LAB=NAME` replaces the code between a file's LAB markers with a stub that
 * calls lab_not_implemented() and returns a harmless value (docs/labs/README.md). The
 * reference code never calls it. */
#ifndef TAPIR_LAB_H
#define TAPIR_LAB_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Say once per file that FN of lab LAB is still a stub. */
static inline void lab_not_implemented(const char *lab, const char *fn)
{
    static const char *said;
    if (said == fn)
        return;
    said = fn;
    fprintf(stderr, "tapir: %s() is not implemented yet (lab %s, docs/labs/)\n", fn, lab);
}

#endif
