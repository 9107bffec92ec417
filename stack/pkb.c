/* pkb.c - packet buffers. See pkb.h for the picture. */
#include "pkb.h"

#include <stdlib.h>
#include <string.h>

struct pkb *pkb_alloc(size_t size)
{
    struct pkb *pkb = calloc(1, sizeof(*pkb));
    if (!pkb)
        return NULL;
    if (size < PKB_MIN_DATA) /* so even a tiny frame can be padded to 60 bytes in place */
        size = PKB_MIN_DATA;
    pkb->cap = PKB_HEADROOM + size;
    pkb->head = malloc(pkb->cap);
    if (!pkb->head) {
        free(pkb);
        return NULL;
    }
    pkb->data = pkb->head + PKB_HEADROOM;
    pkb->len = 0;
    return pkb;
}

struct pkb *pkb_from_bytes(const void *bytes, size_t len)
{
    struct pkb *pkb = pkb_alloc(len);
    if (!pkb)
        return NULL;
    if (len)
        memcpy(pkb_put(pkb, len), bytes, len);
    return pkb;
}

struct pkb *pkb_copy(const struct pkb *src)
{
    struct pkb *pkb = calloc(1, sizeof(*pkb));
    if (!pkb)
        return NULL;
    pkb->head = malloc(src->cap);
    if (!pkb->head) {
        free(pkb);
        return NULL;
    }
    memcpy(pkb->head, src->head, src->cap);
    pkb->cap = src->cap;
    pkb->data = pkb->head + (src->data - src->head);
    pkb->len = src->len;
    pkb->meta = src->meta;
    if (src->meta.ip_hdr)
        pkb->meta.ip_hdr = pkb->head + (src->meta.ip_hdr - src->head);
    return pkb;
}

void pkb_free(struct pkb *pkb)
{
    if (!pkb)
        return;
    free(pkb->head);
    free(pkb);
}

void pkb_free_chain(struct pkb *pkb)
{
    while (pkb) {
        struct pkb *next = pkb->next;
        pkb_free(pkb);
        pkb = next;
    }
}

size_t pkb_headroom(const struct pkb *pkb)
{
    return (size_t)(pkb->data - pkb->head);
}

size_t pkb_tailroom(const struct pkb *pkb)
{
    return pkb->cap - pkb_headroom(pkb) - pkb->len;
}

uint8_t *pkb_push(struct pkb *pkb, size_t n)
{
    if (pkb_headroom(pkb) < n)
        return NULL;
    pkb->data -= n;
    pkb->len += n;
    return pkb->data;
}

uint8_t *pkb_pull(struct pkb *pkb, size_t n)
{
    if (pkb->len < n)
        return NULL;
    uint8_t *old = pkb->data;
    pkb->data += n;
    pkb->len -= n;
    return old;
}

uint8_t *pkb_put(struct pkb *pkb, size_t n)
{
    if (pkb_tailroom(pkb) < n)
        return NULL;
    uint8_t *end = pkb->data + pkb->len;
    pkb->len += n;
    return end;
}

void pkb_trim(struct pkb *pkb, size_t len)
{
    if (len < pkb->len)
        pkb->len = len;
}

void pkb_queue_push(struct pkb_queue *q, struct pkb *pkb)
{
    pkb->next = NULL;
    if (q->last)
        q->last->next = pkb;
    else
        q->first = pkb;
    q->last = pkb;
    q->count++;
    q->bytes += pkb->len;
}

struct pkb *pkb_queue_pop(struct pkb_queue *q)
{
    struct pkb *pkb = q->first;
    if (!pkb)
        return NULL;
    q->first = pkb->next;
    if (!q->first)
        q->last = NULL;
    pkb->next = NULL;
    q->count--;
    q->bytes -= pkb->len;
    return pkb;
}

void pkb_queue_clear(struct pkb_queue *q)
{
    pkb_free_chain(q->first);
    q->first = q->last = NULL;
    q->count = 0;
    q->bytes = 0;
}
