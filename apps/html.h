/* html.h - `--html FILE`: record a run and draw it as one self-contained HTML page
 * (ladder diagram, decoded frames, TCP graphs, the TCP state diagram). docs/pictures.md
 * explains how to read it. */
#ifndef TAPIR_HTML_H
#define TAPIR_HTML_H

#include <stdbool.h>

#include "../stack/stack.h"

struct html_rec;

/* Open FILE for writing now (so a bad path fails before the run); NULL and *err set. */
struct html_rec *html_open(const char *path, const char *title, int *err);
/* Record stack's events on lane `side` (0 or 1). two_stacks: the other lane is a stack
 * recorded too (tapir sim); otherwise it is the peer we only see through our own frames. */
void html_attach(struct html_rec *rec, struct stack *stack, int side, const char *lane,
                 bool two_stacks);
/* The story is over: record nothing more (what tearing down does is left out). */
void html_stop(struct html_rec *rec);
/* Write the page and free everything; returns 0 or -errno. NULL is allowed. */
int html_close(struct html_rec *rec);

#endif
