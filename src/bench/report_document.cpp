#include "bench/report_document.h"

#include <fmt/format.h>

#include "core/error.h"

namespace flashslim::bench {
namespace {

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A Markdown table cell: '|' would end the cell, newlines the row.
std::string markdown_cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out;
}

std::string markdown_row(const std::vector<std::string>& cells) {
  std::string row = "|";
  for (const std::string& cell : cells) {
    row += ' ';
    row += markdown_cell(cell);
    row += " |";
  }
  return row + "\n";
}

constexpr const char* kStyle =
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45}"
    "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}"
    "th,td{border:1px solid #bbb;padding:3px 7px;text-align:left;vertical-align:top}"
    "th{background:#eee}pre{background:#f5f5f5;padding:0.8em;overflow-x:auto}"
    "figure{margin:1.5em 0}img{max-width:100%;border:1px solid #ddd}"
    "figcaption{font-size:0.9em;color:#444}";

}  // namespace

void ReportDocument::heading(int level, std::string text) {
  if (level < 1 || level > 4) fail("report heading level {} is outside 1..4", level);
  blocks_.push_back({Kind::heading, level, {std::move(text)}, {}});
}

void ReportDocument::paragraph(std::string text) {
  blocks_.push_back({Kind::paragraph, 0, {std::move(text)}, {}});
}

void ReportDocument::bullets(std::vector<std::string> items) {
  blocks_.push_back({Kind::bullets, 0, std::move(items), {}});
}

void ReportDocument::table(std::vector<std::string> header,
                           std::vector<std::vector<std::string>> rows) {
  for (size_t i = 0; i < rows.size(); ++i)
    if (rows[i].size() != header.size())
      fail("report table row {} has {} cells, the header {}", i, rows[i].size(), header.size());
  blocks_.push_back({Kind::table, 0, std::move(header), std::move(rows)});
}

void ReportDocument::figure(std::string caption, std::string png, std::string svg) {
  blocks_.push_back({Kind::figure, 0, {std::move(caption), std::move(png), std::move(svg)}, {}});
}

void ReportDocument::code(std::string text) {
  blocks_.push_back({Kind::code, 0, {std::move(text)}, {}});
}

std::string ReportDocument::markdown() const {
  std::string out;
  for (const Block& b : blocks_) {
    switch (b.kind) {
      case Kind::heading:
        out += std::string(b.level, '#') + " " + b.texts[0] + "\n\n";
        break;
      case Kind::paragraph:
        out += b.texts[0] + "\n\n";
        break;
      case Kind::bullets:
        for (const std::string& item : b.texts) out += "- " + item + "\n";
        out += "\n";
        break;
      case Kind::table:
        out += markdown_row(b.texts);
        out += markdown_row(std::vector<std::string>(b.texts.size(), "---"));
        for (const auto& row : b.rows) out += markdown_row(row);
        out += "\n";
        break;
      case Kind::figure:
        out += fmt::format("![{0}]({1})\n\n*{0}* ([SVG]({2}))\n\n", b.texts[0], b.texts[1],
                           b.texts[2]);
        break;
      case Kind::code:
        out += "```\n" + b.texts[0] + (b.texts[0].ends_with('\n') ? "" : "\n") + "```\n\n";
        break;
    }
  }
  return out;
}

std::string ReportDocument::html(const std::string& title) const {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title>\n"
      "<style>{}</style></head>\n<body>\n",
      html_escape(title), kStyle);
  for (const Block& b : blocks_) {
    switch (b.kind) {
      case Kind::heading:
        out += fmt::format("<h{0}>{1}</h{0}>\n", b.level, html_escape(b.texts[0]));
        break;
      case Kind::paragraph:
        out += "<p>" + html_escape(b.texts[0]) + "</p>\n";
        break;
      case Kind::bullets:
        out += "<ul>\n";
        for (const std::string& item : b.texts) out += "<li>" + html_escape(item) + "</li>\n";
        out += "</ul>\n";
        break;
      case Kind::table:
        out += "<table>\n<tr>";
        for (const std::string& cell : b.texts) out += "<th>" + html_escape(cell) + "</th>";
        out += "</tr>\n";
        for (const auto& row : b.rows) {
          out += "<tr>";
          for (const std::string& cell : row) out += "<td>" + html_escape(cell) + "</td>";
          out += "</tr>\n";
        }
        out += "</table>\n";
        break;
      case Kind::figure:
        out += fmt::format(
            "<figure><a href=\"{2}\"><img src=\"{1}\" alt=\"{0}\"></a>"
            "<figcaption>{0} (<a href=\"{2}\">SVG</a>)</figcaption></figure>\n",
            html_escape(b.texts[0]), html_escape(b.texts[1]), html_escape(b.texts[2]));
        break;
      case Kind::code:
        out += "<pre>" + html_escape(b.texts[0]) + "</pre>\n";
        break;
    }
  }
  return out + "</body></html>\n";
}

}  // namespace flashslim::bench
