#include "services/counter/notices_store.h"

#include "shared/sql.h"

namespace wuye::counter {
namespace {

sql::Statements statements;

}  // namespace

NoticesStore::NoticesStore(Db& db) { statements.PrepareOn(db); }

}  // namespace wuye::counter
