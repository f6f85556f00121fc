#include "retention.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

struct np_retained {
    char *path;
    const char *ext;  /* static string from np_format_extension */
    struct np_retained *next;
};

/* Every file this process wrote and still keeps, oldest first. */
static struct np_retention {
    pthread_mutex_t lock;
    struct np_retained *head;
} retention = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void append(struct np_retention *r, struct np_retained *item)
{
    struct np_retained **tail = &r->head;
    while (*tail) tail = &(*tail)->next;
    *tail = item;
}

static long count_kind(const struct np_retention *r, const char *ext)
{
    long n = 0;
    for (const struct np_retained *i = r->head; i; i = i->next)
        n += !strcmp(i->ext, ext);
    return n;
}

/* Unlinks and forgets the oldest file of this kind. */
static void drop_oldest(struct np_retention *r, const char *ext)
{
    for (struct np_retained **i = &r->head; *i; i = &(*i)->next) {
        if (strcmp((*i)->ext, ext)) continue;
        struct np_retained *old = *i;
        *i = old->next;
        if (unlink(old->path) == 0) np_info("removed %s (NODEPROF_KEEP)", old->path);
        free(old->path);
        free(old);
        return;
    }
}

void np_retention_apply(const char *path, const char *ext, long keep)
{
    struct np_retention *r = &retention;
    struct np_retained *item = calloc(1, sizeof *item);
    if (!item || !(item->path = strdup(path))) {
        free(item);
        return;
    }
    item->ext = ext;
    pthread_mutex_lock(&r->lock);
    append(r, item);
    while (count_kind(r, ext) > keep) drop_oldest(r, ext);
    pthread_mutex_unlock(&r->lock);
}
