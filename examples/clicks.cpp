// spate-clicks: the five reference click-log jobs of CLICKLOG.md, each a few dataset operators.
//
//   spate-clicks JOB --input PATH [--campaigns FILE] [--out FILE] [--strict] [--master M]
#include <spate/clicklog_reader.hpp>
#include <spate/command_line.hpp>
#include <spate/spate.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

namespace {

using Counts = std::array<std::int64_t, 3>;  // impressions, clicks, conversions

// A lambda, not a function: function pointers do not survive the trip to another process.
constexpr auto add = [](Counts a, const Counts& b) {
  for (std::size_t i = 0; i < a.size(); ++i) a[i] += b[i];
  return a;
};

// J1: impressions, clicks, conversions and ctr per campaign.
std::string ctr(const spate::ClickLog& log) {
  auto per_campaign = log.records()
                          .map([](const spate::ClickView& c) {
                            Counts n{};
                            n[static_cast<std::size_t>(c.event)] = 1;
                            return std::pair{c.campaign_id, n};
                          })
                          .reduce_by_key(add)
                          .sort_by_key()
                          .collect();
  std::string out = "campaign_id\timpressions\tclicks\tconversions\tctr\n";
  for (const auto& [campaign, n] : per_campaign)
    out += fmt::format("{}\t{}\t{}\t{}\t{}\n", campaign, n[0], n[1], n[2],
                       spate::format_ratio(n[1], n[0]));
  return out;
}

// J2: distinct users per country.
std::string uniques(const spate::ClickLog& log) {
  auto users = log.records()
                   .map([](const spate::ClickView& c) { return std::pair{c.country, c.user_id}; })
                   .distinct()
                   .map([](const std::pair<std::string, std::string>& cu) {
                     return std::pair{cu.first, std::int64_t{1}};
                   })
                   .reduce_by_key(std::plus<>{})
                   .sort_by_key()
                   .collect();
  std::string out = "country\tusers\n";
  for (const auto& [country, n] : users) out += fmt::format("{}\t{}\n", country, n);
  return out;
}

// J3: impression spend per advertiser against the advertiser's total budget.
std::string join(const spate::Context& ctx, const spate::ClickLog& log, const std::string& campaigns_path) {
  using Campaign = std::pair<std::int64_t, std::pair<std::string, std::int64_t>>;
  auto campaigns = ctx.text_file(campaigns_path, 1).flat_map([](std::string_view line) {
    spate::Campaign c;
    if (!spate::parse_campaign(line, c)) return std::optional<Campaign>{};
    return std::optional<Campaign>({c.campaign_id, {std::string(c.advertiser), c.budget_micros}});
  });
  auto spend_per_campaign = log.records()
                                .filter([](const spate::ClickView& c) {
                                  return c.event == spate::Event::impression;
                                })
                                .map([](const spate::ClickView& c) {
                                  return std::pair{c.campaign_id, c.cost_micros};
                                })
                                .reduce_by_key(std::plus<>{});
  auto spend = spend_per_campaign.join(campaigns)
                   .map([](const auto& r) { return std::pair{r.second.second.first, r.second.first}; })
                   .reduce_by_key(std::plus<>{});
  auto budget = campaigns.map([](const Campaign& c) { return c.second; }).reduce_by_key(std::plus<>{});
  auto rows = budget.left_outer_join(spend).sort_by_key().collect();
  std::string out = "advertiser\tspend_micros\tbudget_micros\tspend_ratio\n";
  for (const auto& [advertiser, b] : rows) {
    std::int64_t s = b.second.value_or(0);
    out += fmt::format("{}\t{}\t{}\t{}\n", advertiser, s, b.first, spate::format_ratio(s, b.first));
  }
  return out;
}

// J4: sessions per user (a gap of more than 30 minutes starts a new one), summed over users.
std::string sessions(const spate::ClickLog& log) {
  using Totals = std::array<std::int64_t, 4>;  // users, sessions, events, duration_ms
  auto totals =
      log.records()
          .map([](const spate::ClickView& c) { return std::pair{c.user_id, c.ts}; })
          .group_by_key()
          .aggregate(
              Totals{},
              [](Totals t, std::pair<std::string, std::vector<std::int64_t>>&& user) {
                auto& ts = user.second;
                std::sort(ts.begin(), ts.end());
                std::int64_t start = ts.front();
                t[0] += 1;
                t[1] += 1;
                t[2] += static_cast<std::int64_t>(ts.size());
                for (std::size_t i = 1; i < ts.size(); ++i) {
                  if (ts[i] - ts[i - 1] > spate::kSessionGapMs) {
                    t[3] += ts[i - 1] - start;
                    start = ts[i];
                    t[1] += 1;
                  }
                }
                t[3] += ts.back() - start;
                return t;
              },
              [](Totals a, const Totals& b) {
                for (std::size_t i = 0; i < a.size(); ++i) a[i] += b[i];
                return a;
              });
  return fmt::format("users\tsessions\tmean_events\tmean_duration_s\n{}\t{}\t{}\t{}\n", totals[0],
                     totals[1], spate::format_ratio(totals[2], totals[1]),
                     spate::format_ms_as_seconds(totals[3], totals[1]));
}

// J5: the 100 most frequent urls.
std::string wordcount(const spate::ClickLog& log) {
  using UrlCount = std::pair<std::string, std::int64_t>;
  auto top = log.records()
                 .map([](const spate::ClickView& c) { return std::pair{c.url, std::int64_t{1}}; })
                 .reduce_by_key(std::plus<>{})
                 .top(spate::kWordcountTop, [](const UrlCount& a, const UrlCount& b) {
                   return a.second < b.second || (a.second == b.second && a.first > b.first);
                 });
  std::string out = "url\tcount\n";
  for (const auto& [url, n] : top) out += fmt::format("{}\t{}\n", url, n);
  return out;
}

constexpr std::string_view kUsage =
    "usage: spate-clicks JOB --input PATH [--campaigns FILE] [--out FILE] [--strict] [spate flags]\n"
    "Runs one of CLICKLOG.md's reference jobs over a click log and prints its table.\n"
    "  JOB                 ctr, uniques, join, sessions or wordcount (J1-J5)\n"
    "  --input PATH        the click log: a file, a directory or a glob (.gz and .zst too)\n"
    "  --campaigns FILE    join's dimension table (default: campaigns.tsv beside --input)\n"
    "  --out FILE          write the table there instead of to stdout\n"
    "  --strict            fail on the first malformed line instead of skipping it\n";

// A command-line mistake: one line on stderr, exit code 2.
int usage(const std::string& problem) {
  std::cerr << spate::usage_hint("spate-clicks", problem) << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) try {
  if (spate::help_requested(argc, argv)) {
    std::cout << kUsage << '\n' << spate::context_flags_help();
    return 0;
  }
  spate::Context ctx(argc, argv);
  spate::CancelOnInterrupt interrupt(ctx);  // Ctrl-C cancels the job; we exit with 130 below
  const auto& args = ctx.args();
  std::string job, input, campaigns, out_path;
  bool strict = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw std::invalid_argument(a + " needs a value");
      return args[++i];
    };
    if (a == "--input") input = value();
    else if (a == "--campaigns") campaigns = value();
    else if (a == "--out") out_path = value();
    else if (a == "--strict") strict = true;
    else if (job.empty() && !a.starts_with("--")) job = a;
    else return usage(spate::unknown_argument(a, {"--input", "--campaigns", "--out", "--strict"}));
  }
  auto which = spate::click_job_from_name(job);
  if (!which) return usage(job.empty() ? "no JOB given" : "unknown JOB '" + job + "'");
  if (input.empty()) return usage("--input is required");
  if (campaigns.empty())
    campaigns = (std::filesystem::path(input).parent_path() / "campaigns.tsv").string();

  spate::ClickLog log = spate::read_click_log(ctx, input, {.strict = strict});
  std::string result;
  switch (*which) {
    case spate::ClickJob::ctr: result = ctr(log); break;
    case spate::ClickJob::uniques: result = uniques(log); break;
    case spate::ClickJob::join: result = join(ctx, log, campaigns); break;
    case spate::ClickJob::sessions: result = sessions(log); break;
    case spate::ClickJob::wordcount: result = wordcount(log); break;
  }
  if (out_path.empty()) {
    std::fwrite(result.data(), 1, result.size(), stdout);
  } else {
    std::ofstream f(out_path, std::ios::binary);
    f << result;
    if (!f.flush()) throw spate::io_error("cannot write " + out_path);
  }
  std::cerr << "skipped " << log.malformed_lines() << " malformed lines\n";
  return 0;
} catch (const std::invalid_argument& e) {
  return usage(e.what());
} catch (const spate::config_error& e) {
  return usage(e.what());
} catch (const spate::job_cancelled& e) {
  std::cerr << "spate-clicks: " << e.what() << "\n";
  return spate::CancelOnInterrupt::kExitStatus;
} catch (const std::exception& e) {
  std::cerr << "spate-clicks: " << e.what() << "\n";
  return 1;
}
