#include "report/html_page.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <string_view>

#include "base/json.hpp"
#include "report/downsample.hpp"
#include "report/page_assets.hpp"

namespace keel {

namespace {

// A parsed value written back as JSON: numbers exactly as they were written.
void write_json(const JsonValue& v, std::string& out) {
  switch (v.kind) {
    case JsonValue::Kind::null:
      out += "null";
      break;
    case JsonValue::Kind::boolean:
      out += v.boolean ? "true" : "false";
      break;
    case JsonValue::Kind::number:
      out += v.text;
      break;
    case JsonValue::Kind::string:
      out += json_quote(v.text);
      break;
    case JsonValue::Kind::array:
      out += '[';
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        if (i) out += ',';
        write_json(v.items[i], out);
      }
      out += ']';
      break;
    case JsonValue::Kind::object:
      out += '{';
      for (std::size_t i = 0; i < v.members.size(); ++i) {
        if (i) out += ',';
        out += json_quote(v.members[i].first) + ':';
        write_json(v.members[i].second, out);
      }
      out += '}';
      break;
  }
}

// {"x": [...], "y": [...]}: the points of one per-step series to draw.
std::string series_json(const std::vector<double>& steps, const std::vector<double>& y) {
  std::string xs, ys;
  for (std::size_t i : display_points(y, kMaxStepPoints)) {
    xs += (xs.empty() ? "" : ",") + json_number(steps[i]);
    ys += (ys.empty() ? "" : ",") + json_number(y[i]);
  }
  return "{\"x\":[" + xs + "],\"y\":[" + ys + "]}";
}

std::string html_escape(const std::string& s) {
  // The characters HTML gives a meaning to, and their entities in the same order.
  static constexpr std::string_view kSpecial = "<>&\"";
  static const char* const kEntities[] = {"&lt;", "&gt;", "&amp;", "&quot;"};
  std::string out;
  for (char c : s) {
    if (const std::size_t i = kSpecial.find(c); i != std::string_view::npos)
      out += kEntities[i];
    else
      out += c;
  }
  return out;
}

std::string base64(const std::string& bytes) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = unsigned(std::uint8_t(bytes[i])) << 16 | unsigned(std::uint8_t(bytes[i + 1])) << 8 |
                       unsigned(std::uint8_t(bytes[i + 2]));
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
  }
  if (i + 1 == bytes.size()) {
    const unsigned v = unsigned(std::uint8_t(bytes[i])) << 16;
    out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    const unsigned v = unsigned(std::uint8_t(bytes[i])) << 16 | unsigned(std::uint8_t(bytes[i + 1])) << 8;
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

// The SVG element alone: Graphviz starts with an XML declaration and a
// DOCTYPE, which do not belong inside HTML.
std::string svg_element(const std::string& svg) {
  const auto at = svg.find("<svg");
  return at == std::string::npos ? std::string() : svg.substr(at);
}

}  // namespace

std::string script_safe(std::string text) {
  for (std::size_t at = text.find("</"); at != std::string::npos; at = text.find("</", at + 3))
    text.replace(at, 2, "<\\/");
  return text;
}

std::string report_data_json(const RunFolder& run) {
  std::string out = "{\"facts\":";
  if (run.facts.is_object()) {
    JsonValue facts = run.facts;
    facts.members.erase(std::remove_if(facts.members.begin(), facts.members.end(),
                                       [](const JsonMember& m) { return m.first == "graph_dot"; }),
                        facts.members.end());
    write_json(facts, out);
  } else {
    out += "null";
  }
  // Epochs are thinned like steps when a run has very many (8,000 one-step
  // epochs of linear regression), by their training loss; the last is kept.
  std::vector<double> epoch_loss;
  for (const JsonValue& e : run.epochs) {
    const JsonValue* v = e.find("train_loss");
    epoch_loss.push_back(v && v->is_number() ? v->number : NAN);
  }
  std::vector<std::size_t> shown = display_points(epoch_loss, kMaxStepPoints);
  if (!run.epochs.empty() && shown.back() != run.epochs.size() - 1) shown.push_back(run.epochs.size() - 1);
  out += ",\"epochs\":[";
  for (std::size_t i = 0; i < shown.size(); ++i) {
    if (i) out += ',';
    write_json(run.epochs[shown[i]], out);
  }
  const StepSeries& s = run.steps;
  out += "],\"epoch_count\":" + std::to_string(run.epochs.size()) +
         ",\"steps\":{\"count\":" + std::to_string(s.step.size()) +
         ",\"loss\":" + series_json(s.step, s.loss) + ",\"lr\":" + series_json(s.step, s.lr) +
         ",\"grad_norm\":" + series_json(s.step, s.grad_norm) + "}";
  // Each event with the training loss of its step, to place it on the loss chart.
  std::map<double, double> loss_at;
  for (std::size_t i = 0; i < s.step.size(); ++i) loss_at[s.step[i]] = s.loss[i];
  out += ",\"events\":[";
  std::string event_loss;
  for (std::size_t i = 0; i < run.events.size(); ++i) {
    if (i) out += ',', event_loss += ',';
    write_json(run.events[i], out);
    const auto it = loss_at.find(run.events[i].find("step")->number);
    event_loss += it == loss_at.end() ? "null" : json_number(it->second);
  }
  out += "],\"event_loss\":[" + event_loss + "],\"event_count\":" + std::to_string(run.event_lines);
  out += ",\"node_times\":[";
  for (std::size_t i = 0; i < run.node_times.size(); ++i) {
    const NodeTime& t = run.node_times[i];
    out += std::string(i ? "," : "") + "{\"node\":" + json_quote(t.node) +
           ",\"forward_ms\":" + json_number(t.forward_ms) + ",\"backward_ms\":" + json_number(t.backward_ms) +
           ",\"forward_calls\":" + std::to_string(t.forward_calls) +
           ",\"backward_calls\":" + std::to_string(t.backward_calls) + "}";
  }
  out += "],\"sample_epochs\":[";
  for (std::size_t i = 0; i < run.samples.size(); ++i)
    out += (i ? "," : "") + std::to_string(run.samples[i].epoch);
  out += "],\"notes\":[";
  for (std::size_t i = 0; i < run.notes.size(); ++i) out += (i ? "," : "") + json_quote(run.notes[i]);
  out += "]}";
  return out;
}

std::string render_report_html(const RunFolder& run, const PageParts& parts) {
  std::string title = "Keel run report";
  if (const JsonValue* name = run.facts.find("graph_name"); name && name->is_string() && !name->text.empty())
    title += ": " + name->text;
  std::string samples;
  for (const SampleGrid& g : run.samples)
    samples += "<figure><img alt=\"samples after epoch " + std::to_string(g.epoch) +
               "\" src=\"data:image/png;base64," + base64(g.png) + "\"><figcaption>epoch " +
               std::to_string(g.epoch) + "</figcaption></figure>\n";
  std::string html;
  html.reserve(parts.chart_js.size() + parts.graph_svg.size() + 256 * 1024);
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  // No fetch of any kind: everything is inline, and the policy says so.
  html +=
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += "<title>" + html_escape(title) + "</title>\n<style>" + std::string(kReportCss) + "</style>\n";
  html += "</head>\n<body data-charts-expected=\"0\" data-charts-rendered=\"0\" data-errors=\"\">\n";
  html += "<h1>" + html_escape(title) + "</h1>\n<p id=\"summary\"></p>\n<ul id=\"notes\"></ul>\n";
  html += std::string(kReportBody);
  html += "<section id=\"samples-section\"" + std::string(samples.empty() ? " hidden" : "") +
          "><h2>Samples per epoch</h2><div id=\"samples\">" + samples + "</div></section>\n";
  html += "<section id=\"graph-section\"><h2>Graph</h2>";
  if (!parts.graph_svg.empty())
    html += "<div id=\"graph\">" + svg_element(parts.graph_svg) + "</div>";
  else
    html += "<p id=\"graph-note\" class=\"note\">" + html_escape(parts.graph_note) + "</p>";
  html += "</section>\n";
  html += "<script id=\"run-data\" type=\"application/json\">" + script_safe(report_data_json(run)) +
          "</script>\n";
  // The error collector comes first, so that it sees Chart.js fail too.
  html += "<script>" + std::string(kErrorCollectorJs) + "</script>\n";
  html += "<script>" + script_safe(parts.chart_js) + "</script>\n";
  html += "<script>" + std::string(kReportJs) + "</script>\n";
  html += "</body>\n</html>\n";
  return html;
}

}  // namespace keel
