#include "services/counter/counter_jobs.h"
