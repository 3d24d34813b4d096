#include "services/counter/registers_store.h"

#include "shared/sql.h"

namespace wuye::counter {
namespace {

sql::Statements statements;

}  // namespace

RegistersStore::RegistersStore(Db& db) { statements.PrepareOn(db); }

}  // namespace wuye::counter
