#pragma once
// A report as a list of blocks (headings, paragraphs, lists, tables, figures, code) that
// renders to Markdown and to a self-contained HTML page with the same content, so the
// two formats cannot drift apart.
#include <string>
#include <vector>

namespace flashslim::bench {

class ReportDocument {
 public:
  void heading(int level, std::string text);  // level 1..4
  void paragraph(std::string text);
  void bullets(std::vector<std::string> items);
  // Every row has header.size() cells.
  void table(std::vector<std::string> header, std::vector<std::vector<std::string>> rows);
  // An image by path relative to the report (the PNG shown, the SVG linked).
  void figure(std::string caption, std::string png, std::string svg);
  void code(std::string text);

  std::string markdown() const;
  std::string html(const std::string& title) const;

 private:
  enum class Kind { heading, paragraph, bullets, table, figure, code };
  struct Block {
    Kind kind;
    int level = 0;
    std::vector<std::string> texts;  // heading/paragraph/code: 1; bullets: items;
                                     // figure: caption, png, svg; table: header
    std::vector<std::vector<std::string>> rows;
  };
  std::vector<Block> blocks_;
};

}  // namespace flashslim::bench
