// The status page's HTML document. Internal; included as "ui/status_page.hpp".
#pragma once

#include <string_view>

namespace spate::detail {

/// The status page: one self-contained HTML document (inline CSS and script; it loads nothing
/// but the JSON under its own origin's api/, and uses the browser's own fonts). It polls
/// api/app, api/jobs, api/stages, api/executors (and api/stages/ID/tasks for a selected stage)
/// every second while a job runs, every 5 s otherwise, and renders the jobs, the selected job's
/// stage DAG, the stages, a stage's tasks and the executors. Rows carry data- attributes a test
/// can read: tr.job[data-job][data-status], tr.stage[data-stage][data-job][data-status],
/// g.dag-stage[data-stage][data-status], tr.task[data-partition][data-attempt][data-status],
/// tr.executor[data-executor][data-state]. Static storage; never changes.
std::string_view status_page_html() noexcept;

}  // namespace spate::detail
