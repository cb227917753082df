#ifndef CSQLITECONFIG_H
#define CSQLITECONFIG_H

#include <sqlite3.h>

/// sqlite3_db_config is variadic, which Swift cannot call: this sets SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE.
/// Returns SQLite's result code.
int lm_sqlite_no_checkpoint_on_close(sqlite3 *db, int on);

#endif
