#include "services/counter/cases_store.h"

#include "shared/sql.h"

namespace wuye::counter {
namespace {

sql::Statements statements;

}  // namespace

CasesStore::CasesStore(Db& db) { statements.PrepareOn(db); }

}  // namespace wuye::counter
