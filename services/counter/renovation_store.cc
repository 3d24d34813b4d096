#include "services/counter/renovation_store.h"

#include "shared/sql.h"

namespace wuye::counter {
namespace {

sql::Statements statements;

}  // namespace

RenovationStore::RenovationStore(Db& db) { statements.PrepareOn(db); }

}  // namespace wuye::counter
