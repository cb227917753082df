#include "CSQLiteConfig.h"
#include <string.h>

int lm_sqlite_no_checkpoint_on_close(sqlite3 *db, int on) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, on, (int *)0);
}

int lm_sqlite_configure_process(void) {
    int rc = sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    if (rc != SQLITE_OK) return rc;
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* lm_rows: an eponymous-only virtual table (a table-valued function) over rows held by the caller,
   passed as a pointer value (sqlite3_bind_pointer), as the carray extension of SQLite does. */

static const char *const lm_rows_pointer_type = "lm_rows";

/* The hidden column that takes the rows' pointer comes after the LM_ROWS_MAX_COLUMNS columns. */
#define LM_ROWS_ARGUMENT LM_ROWS_MAX_COLUMNS

typedef struct lm_rows_cursor {
    sqlite3_vtab_cursor base;
    const lm_rows *rows;
    sqlite3_int64 row;
} lm_rows_cursor;

static int lm_rows_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out, char **error) {
    (void)aux; (void)argc; (void)argv; (void)error;
    int rc = sqlite3_declare_vtab(db,
        "CREATE TABLE x(c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, c16, c17, c18, c19,"
        " c20, c21, c22, c23, rows HIDDEN)");
    if (rc != SQLITE_OK) return rc;
    sqlite3_vtab *table = sqlite3_malloc(sizeof(*table));
    if (table == 0) return SQLITE_NOMEM;
    memset(table, 0, sizeof(*table));
    *out = table;
    return SQLITE_OK;
}

static int lm_rows_disconnect(sqlite3_vtab *table) {
    sqlite3_free(table);
    return SQLITE_OK;
}

static int lm_rows_open(sqlite3_vtab *table, sqlite3_vtab_cursor **out) {
    (void)table;
    lm_rows_cursor *cursor = sqlite3_malloc(sizeof(*cursor));
    if (cursor == 0) return SQLITE_NOMEM;
    memset(cursor, 0, sizeof(*cursor));
    *out = &cursor->base;
    return SQLITE_OK;
}

static int lm_rows_close(sqlite3_vtab_cursor *cursor) {
    sqlite3_free(cursor);
    return SQLITE_OK;
}

/* The rows' argument is required: without it (or unusable), the plan is refused. */
static int lm_rows_best_index(sqlite3_vtab *table, sqlite3_index_info *info) {
    (void)table;
    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &info->aConstraint[i];
        if (c->iColumn != LM_ROWS_ARGUMENT || c->op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
        if (!c->usable) return SQLITE_CONSTRAINT;
        info->aConstraintUsage[i].argvIndex = 1;
        info->aConstraintUsage[i].omit = 1;
        info->idxNum = 1;
        info->estimatedCost = 1000;
        info->estimatedRows = 1000;
        return SQLITE_OK;
    }
    return SQLITE_CONSTRAINT;
}

static int lm_rows_filter(sqlite3_vtab_cursor *base, int idxNum, const char *idxStr, int argc, sqlite3_value **argv) {
    (void)idxStr;
    lm_rows_cursor *cursor = (lm_rows_cursor *)base;
    cursor->rows = (idxNum == 1 && argc > 0) ? sqlite3_value_pointer(argv[0], lm_rows_pointer_type) : 0;
    cursor->row = 0;
    return SQLITE_OK;
}

static int lm_rows_next(sqlite3_vtab_cursor *base) {
    ((lm_rows_cursor *)base)->row++;
    return SQLITE_OK;
}

static int lm_rows_eof(sqlite3_vtab_cursor *base) {
    lm_rows_cursor *cursor = (lm_rows_cursor *)base;
    return cursor->rows == 0 || cursor->row >= cursor->rows->count;
}

static int lm_rows_column(sqlite3_vtab_cursor *base, sqlite3_context *context, int column) {
    lm_rows_cursor *cursor = (lm_rows_cursor *)base;
    const lm_rows *rows = cursor->rows;
    if (rows == 0 || column >= rows->columns) {
        sqlite3_result_null(context);
        return SQLITE_OK;
    }
    const lm_value *v = &rows->values[cursor->row * rows->columns + column];
    switch (v->type) {
    case LM_INTEGER: sqlite3_result_int64(context, v->i); break;
    case LM_REAL: sqlite3_result_double(context, v->d); break;
    case LM_TEXT: sqlite3_result_text(context, v->p ? (const char *)v->p : "", v->length, SQLITE_STATIC); break;
    case LM_BLOB: sqlite3_result_blob(context, v->p ? v->p : "", v->length, SQLITE_STATIC); break;
    default: sqlite3_result_null(context); break;
    }
    return SQLITE_OK;
}

static int lm_rows_rowid(sqlite3_vtab_cursor *base, sqlite3_int64 *rowid) {
    *rowid = ((lm_rows_cursor *)base)->row;
    return SQLITE_OK;
}

static sqlite3_module lm_rows_module = {
    .iVersion = 0,
    .xCreate = 0, /* eponymous only: lm_rows(?) needs no CREATE VIRTUAL TABLE */
    .xConnect = lm_rows_connect,
    .xBestIndex = lm_rows_best_index,
    .xDisconnect = lm_rows_disconnect,
    .xDestroy = 0,
    .xOpen = lm_rows_open,
    .xClose = lm_rows_close,
    .xFilter = lm_rows_filter,
    .xNext = lm_rows_next,
    .xEof = lm_rows_eof,
    .xColumn = lm_rows_column,
    .xRowid = lm_rows_rowid,
};

int lm_register_rows(sqlite3 *db) {
    return sqlite3_create_module(db, "lm_rows", &lm_rows_module, 0);
}

int lm_bind_rows(sqlite3_stmt *stmt, int index, const lm_rows *rows) {
    return sqlite3_bind_pointer(stmt, index, (void *)rows, lm_rows_pointer_type, 0);
}

#include <stdint.h>

/// The bytes of `x` in 'A'...'Z' made lower case, eight at a time: a byte's high bit in `ge_a` says its
/// low seven bits are at least 'A', in `gt_z` more than 'Z'; bytes of 0x80 and more are left alone.
static inline uint64_t lm_ascii_lower8(uint64_t x) {
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t low7 = x & ~high;
    uint64_t ge_a = low7 + (0x80 - 'A') * ones;
    uint64_t gt_z = low7 + (0x80 - 'Z' - 1) * ones;
    uint64_t upper = (ge_a ^ gt_z) & ~x & high;
    return x | (upper >> 2);
}

static inline uint64_t lm_word(const uint8_t *p, size_t n) {
    uint64_t w = 0;
    memcpy(&w, p, n);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

sqlite3_int64 lm_search_key(const void *bytes, sqlite3_int64 length) {
    const uint8_t *p = bytes;
    size_t n = (size_t)length;
    uint64_t h = 0x9E3779B97F4A7C15ULL * ((uint64_t)n + 1);
    while (n > 0) {
        size_t k = n < 8 ? n : 8;
        h = (h ^ lm_ascii_lower8(lm_word(p, k))) * 0x9FB21C651E98DF25ULL;
        h ^= h >> 29;
        p += k;
        n -= k;
    }
    // splitmix64's finalizer.
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
    h ^= h >> 31;
    return (sqlite3_int64)h;
}

/// The text of an SQL function's argument (its bytes and their count); 0, with the function's result
/// set to NULL, for NULL.
static int lm_text_argument(sqlite3_context *context, sqlite3_value *value, const unsigned char **text, int *n) {
    if (sqlite3_value_type(value) == SQLITE_NULL) {
        sqlite3_result_null(context);
        return 0;
    }
    const unsigned char *t = sqlite3_value_text(value);
    *text = t ? t : (const unsigned char *)"";
    *n = t ? sqlite3_value_bytes(value) : 0;
    return 1;
}

static void lm_search_key_sql(sqlite3_context *context, int argc, sqlite3_value **argv) {
    (void)argc;
    const unsigned char *text;
    int n;
    if (!lm_text_argument(context, argv[0], &text, &n)) return;
    sqlite3_result_int64(context, lm_search_key(text, n));
}

/// lm_queue_key(queue_ids, n): the search key of the n-th (from 0) of a message's ';'-separated queue
/// ids, NULL when it has fewer.
static void lm_queue_key_sql(sqlite3_context *context, int argc, sqlite3_value **argv) {
    (void)argc;
    const unsigned char *text;
    int n;
    if (!lm_text_argument(context, argv[0], &text, &n)) return;
    sqlite3_int64 wanted = sqlite3_value_int64(argv[1]);
    if (wanted < 0) {
        sqlite3_result_null(context);
        return;
    }
    int start = 0;
    for (sqlite3_int64 field = 0; start <= n; field++) {
        int end = start;
        while (end < n && text[end] != ';') end++;
        if (field == wanted) {
            sqlite3_result_int64(context, lm_search_key(text + start, end - start));
            return;
        }
        start = end + 1;
    }
    sqlite3_result_null(context);
}

int lm_register_search_key(sqlite3 *db) {
    int rc = sqlite3_create_function(db, "lm_search_key", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                     lm_search_key_sql, NULL, NULL);
    if (rc != SQLITE_OK) return rc;
    return sqlite3_create_function(db, "lm_queue_key", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                   lm_queue_key_sql, NULL, NULL);
}

#if defined(__linux__)
#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
int lm_thread_id(void) { return (int)syscall(SYS_gettid); }
int lm_lower_thread_priority(int by) {
    id_t tid = (id_t)syscall(SYS_gettid);
    errno = 0;
    int now = getpriority(PRIO_PROCESS, tid);
    if (now == -1 && errno != 0) return -1;
    return setpriority(PRIO_PROCESS, tid, now + by);
}
#else
int lm_thread_id(void) { return -1; }
int lm_lower_thread_priority(int by) { (void)by; return -1; }
#endif
