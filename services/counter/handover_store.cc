#include "services/counter/handover_store.h"

#include "shared/sql.h"

namespace wuye::counter {
namespace {

sql::Statements statements;

}  // namespace

HandoverStore::HandoverStore(Db& db) { statements.PrepareOn(db); }

}  // namespace wuye::counter
