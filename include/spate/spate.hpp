// The whole public API of spate: include this one header.
#pragma once

#include "spate/accumulator.hpp"
#include "spate/broadcast.hpp"
#include "spate/command_line.hpp"
#include "spate/context.hpp"
#include "spate/dataset.hpp"
#include "spate/error.hpp"
#include "spate/hash.hpp"
#include "spate/interrupt.hpp"
#include "spate/job_handle.hpp"
#include "spate/partition_records.hpp"
#include "spate/partitioner.hpp"
#include "spate/record_traits.hpp"
#include "spate/storage_level.hpp"
#include "spate/task_info.hpp"
#include "spate/text_escape.hpp"
