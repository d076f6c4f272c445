/*
 * botspool.h - the host's durable spool of received Telegram updates
 * (lib/botspool.c). The webhook appends an update to a local file and
 * makes it durable (fdatasync) before it answers 200; the bot worker of
 * the same host moves the spooled updates into the shared inbox
 * (tg_inbox) in batches. So the webhook's answer costs one local write
 * and one flush, whatever the database or the worker are doing.
 */
#ifndef OSHXONA_BOTSPOOL_H
#define OSHXONA_BOTSPOOL_H

#include <stddef.h>
#include <stdint.h>

#include <mongoc/mongoc.h>

/* The spool directory (BOT_SPOOL_DIR), or NULL: no spool, the webhook
 * writes straight into the database as before. */
const char *botspool_dir(void);

/*
 * Appends one update (raw, len bytes, at most TG_UPDATE_MAX) to the
 * spool of dir and flushes it to disk. Returns 0 when the update is
 * durable, -1 when it is not (logged; the caller stores it elsewhere or
 * answers 503). Safe from any number of processes at once.
 */
int botspool_put(const char *dir, int64_t update_id, const char *raw, size_t len);

/*
 * Moves every complete update spooled in dir into tg_inbox (a redelivery
 * is a duplicate key there and is stored once). A spool file is removed
 * only once all of it is in the database. Returns how many updates were
 * moved, or -1 (logged) when the database refused: the spooled updates
 * stay for the next call.
 */
int botspool_drain(mongoc_client_t *client, const char *dir);

/*
 * Sets the current spool file aside as dir/inbox.spool.draining for
 * copying, unless one is set aside already. Once it returns, no webhook
 * child writes to the set-aside file any more. Returns 1 when there is a
 * file to copy, 0 when nothing is spooled, -1 on error (logged).
 */
int botspool_rotate(const char *dir);

/* FNV-1a over the bytes: a torn record at the end of a spool shows. */
uint32_t botspool_sum(const char *p, size_t n);

/*
 * Parses one record header ("%016x %08x %08x\n": update id, length,
 * sum). Returns 0 and fills the outputs, -1 if it is not one.
 */
int botspool_header(const char *line, int64_t *update_id, uint32_t *len, uint32_t *sum);

#endif
