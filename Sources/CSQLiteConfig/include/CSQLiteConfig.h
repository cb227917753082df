#ifndef CSQLITECONFIG_H
#define CSQLITECONFIG_H

#include <sqlite3.h>

/// sqlite3_db_config is variadic, which Swift cannot call: this sets SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE.
/// Returns SQLite's result code.
int lm_sqlite_no_checkpoint_on_close(sqlite3 *db, int on);

/// Process-wide settings, before SQLite is first used (else SQLITE_MISUSE and nothing changes):
/// multi-thread mode (no mutex around each call on a connection: GRDB never uses a connection from
/// two threads at once) and no memory statistics (a global mutex around each of SQLite's allocations).
int lm_sqlite_configure_process(void);

/// One value of a row given to `lm_rows`: `type` is one of the LM_* below; an integer is in `i`, a
/// real in `d`, text and blobs are `length` bytes at `p` (which must stay valid while the statement runs).
typedef struct lm_value {
    sqlite3_int64 i;
    double d;
    const void *p;
    int type;
    int length;
} lm_value;

enum { LM_NULL = 0, LM_INTEGER = 1, LM_REAL = 2, LM_TEXT = 3, LM_BLOB = 4 };

/// `count` rows of `columns` values each, row after row.
typedef struct lm_rows {
    int columns;
    sqlite3_int64 count;
    const lm_value *values;
} lm_rows;

/// The most columns a row of `lm_rows` has (c0 ... c23).
enum { LM_ROWS_MAX_COLUMNS = 24 };

/// Registers the table-valued function `lm_rows(?)` on a connection: the rows of an `lm_rows` bound to
/// its argument by `lm_bind_rows`, as columns c0, c1, ... So one `INSERT INTO t SELECT c0, ... FROM
/// lm_rows(?)` writes a whole batch of rows: SQLite keeps its cursors open and positioned from row to
/// row, where a statement run once per row opens, seeks and closes them every time.
int lm_register_rows(sqlite3 *db);

/// Binds `rows` to parameter `index` of a statement reading `lm_rows(?)`. The rows must stay valid
/// until the statement is reset.
int lm_bind_rows(sqlite3_stmt *stmt, int index, const lm_rows *rows);

/// The search key of a text: a 64-bit hash of its bytes with ASCII letters taken as lower case, so
/// that equal texts (ASCII case aside) have equal keys. The search indexes hold these keys instead of
/// the texts (migration v16): smaller, and sorted faster when they are built. Stored in the
/// database: the function must never change (a test pins some values).
sqlite3_int64 lm_search_key(const void *bytes, sqlite3_int64 length);

/// Registers the SQL functions `lm_search_key(text)` (NULL for NULL) and `lm_queue_key(queue_ids, n)`
/// (the key of a message's n-th queue id, from 0, or NULL) on a connection.
int lm_register_search_key(sqlite3 *db);

/// The calling thread's id (Linux's `gettid`), or -1 where there is none.
int lm_thread_id(void);

/// Raises the calling thread's nice value by `by` (Linux: threads have their own), which an unprivileged
/// process cannot take back: for threads of their own that end with their work. 0 when done, -1 if not.
int lm_lower_thread_priority(int by);

#endif
