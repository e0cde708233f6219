//===- plot.cpp - line and scatter plots as PNG ---------------------------===//
//
// An RGB canvas with lines (Bresenham), filled squares and text in a 5x7
// bitmap font (upper case, digits and the punctuation numbers and labels
// need), written with writePng.
//
//===----------------------------------------------------------------------===//

#include "runtime/include/gmrt/plot.h"

#include "runtime/include/gmrt/png.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <tuple>

namespace gmrt {

namespace {

struct RGB {
  uint8_t r, g, b;
};

// matplotlib's tab10, so class colours look as people expect.
const RGB kPalette[10] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},
                          {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127},
                          {188, 189, 34},  {23, 190, 207}};
const RGB kBlack{0, 0, 0}, kGrid{225, 225, 225}, kAxis{90, 90, 90};

/// 5x7 glyphs, one byte per row (bit 4 the leftmost pixel).
struct Glyph {
  char c;
  uint8_t rows[7];
};
const Glyph kFont[] = {
    {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}}, {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}}, {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
    {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}}, {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
    {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}}, {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}}, {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
    {'A', {0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11}}, {'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}},
    {'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}}, {'D', {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}},
    {'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}}, {'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}},
    {'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}}, {'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
    {'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}}, {'J', {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}},
    {'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}}, {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
    {'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}}, {'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}},
    {'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}},
    {'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}}, {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
    {'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}}, {'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
    {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'V', {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}},
    {'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}}, {'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}},
    {'Y', {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}}, {'Z', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}},
    {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}}, {'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
    {'_', {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F}}, {':', {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}},
    {'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}}, {')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}},
    {'/', {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00}}, {'+', {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00}},
    {'=', {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00}}, {',', {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08}},
    {'%', {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}}, {'\'', {0x04, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00}},
};

const Glyph *glyph(char c) {
  c = (char)std::toupper((unsigned char)c);
  for (const Glyph &g : kFont)
    if (g.c == c)
      return &g;
  return nullptr; // drawn as a space
}

struct Canvas {
  int64_t w, h;
  std::vector<uint8_t> px;
  Canvas(int64_t w, int64_t h) : w(w), h(h), px((size_t)(w * h * 3), 255) {}

  void set(int64_t x, int64_t y, RGB c) {
    if (x < 0 || y < 0 || x >= w || y >= h)
      return;
    uint8_t *p = &px[(size_t)((y * w + x) * 3)];
    p[0] = c.r, p[1] = c.g, p[2] = c.b;
  }
  void line(int64_t x0, int64_t y0, int64_t x1, int64_t y1, RGB c) {
    int64_t dx = std::llabs(x1 - x0), dy = -std::llabs(y1 - y0);
    int64_t sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    for (;;) {
      set(x0, y0, c);
      if (x0 == x1 && y0 == y1)
        return;
      int64_t e2 = 2 * err;
      if (e2 >= dy)
        err += dy, x0 += sx;
      if (e2 <= dx)
        err += dx, y0 += sy;
    }
  }
  void square(int64_t x, int64_t y, int64_t side, RGB c) {
    for (int64_t i = 0; i < side; ++i)
      for (int64_t j = 0; j < side; ++j)
        set(x + j, y + i, c);
  }
  /// Text whose top-left corner is (x, y); each font pixel |scale| wide.
  void text(int64_t x, int64_t y, const std::string &s, RGB c, int64_t scale = 1) {
    for (char ch : s) {
      if (const Glyph *g = glyph(ch))
        for (int64_t r = 0; r < 7; ++r)
          for (int64_t b = 0; b < 5; ++b)
            if (g->rows[r] & (0x10 >> b))
              square(x + b * scale, y + r * scale, scale, c);
      x += 6 * scale;
    }
  }
  static int64_t textWidth(const std::string &s, int64_t scale = 1) {
    return (int64_t)s.size() * 6 * scale;
  }
  Status write(const std::string &path) const { return writePng(path, w, h, 3, px); }
};

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

/// [lo, hi] of the finite values of |v|, widened when empty or flat.
std::pair<double, double> range(const std::vector<double> &v) {
  double lo = INFINITY, hi = -INFINITY;
  for (double d : v)
    if (std::isfinite(d))
      lo = std::min(lo, d), hi = std::max(hi, d);
  if (!(lo <= hi))
    return {0, 1};
  if (lo == hi) {
    double pad = std::max(std::fabs(lo) * 0.05, 1e-3);
    return {lo - pad, hi + pad};
  }
  return {lo, hi};
}

} // namespace

Status writeLinePlots(const std::string &path, const std::string &xLabel,
                      const std::vector<Series> &series) {
  if (series.empty())
    return Status::error("no curves to plot in '" + path + "'");
  const int64_t width = 720, left = 70, right = 20, titleH = 26, plotH = 170, gap = 14,
                bottom = 34;
  const int64_t panelH = titleH + plotH + gap;
  Canvas cv(width, (int64_t)series.size() * panelH + bottom);
  const int64_t plotW = width - left - right;
  for (size_t k = 0; k < series.size(); ++k) {
    const Series &s = series[k];
    int64_t top = (int64_t)k * panelH + titleH;
    RGB colour = kPalette[k % 10];
    cv.text(left, top - 20, s.label, colour, 2);
    double x0, x1, y0, y1;
    std::tie(x0, x1) = range(s.x);
    std::tie(y0, y1) = range(s.y);
    // Grid at the quarters, the frame, and the y range at its ends.
    for (int q = 0; q <= 4; ++q) {
      int64_t y = top + plotH * q / 4, x = left + plotW * q / 4;
      cv.line(left, y, left + plotW, y, kGrid);
      cv.line(x, top, x, top + plotH, kGrid);
    }
    cv.line(left, top, left, top + plotH, kAxis);
    cv.line(left, top + plotH, left + plotW, top + plotH, kAxis);
    for (int q = 0; q <= 2; ++q) {
      std::string t = number(y1 - (y1 - y0) * q / 2);
      cv.text(left - 6 - Canvas::textWidth(t), top + plotH * q / 2 - 3, t, kBlack);
    }
    std::string xs0 = number(x0), xs1 = number(x1);
    cv.text(left, top + plotH + 4, xs0, kBlack);
    cv.text(left + plotW - Canvas::textWidth(xs1), top + plotH + 4, xs1, kBlack);
    auto at = [&](double x, double y) {
      return std::make_pair(left + (int64_t)std::lround((x - x0) / (x1 - x0) * (plotW - 1)),
                            top + plotH - 1 - (int64_t)std::lround((y - y0) / (y1 - y0) * (plotH - 1)));
    };
    bool have = false;
    std::pair<int64_t, int64_t> prev;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
        have = false;
        continue;
      }
      auto p = at(s.x[i], s.y[i]);
      if (have)
        cv.line(prev.first, prev.second, p.first, p.second, colour);
      else
        cv.set(p.first, p.second, colour);
      prev = p, have = true;
    }
  }
  cv.text(left + (plotW - Canvas::textWidth(xLabel)) / 2, cv.h - 12, xLabel, kBlack);
  return cv.write(path);
}

Status writeScatter(const std::string &path, const std::string &title,
                    const std::vector<float> &xy, const std::vector<int> &cls,
                    const std::vector<std::string> &names, const LogDensity &background,
                    const std::string &backgroundName) {
  if (xy.size() != 2 * cls.size() || cls.empty())
    return Status::error("no points to plot in '" + path + "'");
  const int64_t side = 560, left = 60, top = 36, legendW = 150, bottom = 30;
  Canvas cv(left + side + 10 + legendW, top + side + bottom);
  std::vector<double> xs, ys;
  for (size_t i = 0; i < cls.size(); ++i)
    xs.push_back(xy[2 * i]), ys.push_back(xy[2 * i + 1]);
  auto [x0, x1] = range(xs);
  auto [y0, y1] = range(ys);
  // |cells| x |cells| centres of the box [ax0, ax1] x [ay0, ay1], row by
  // row from the top, and the density there relative to its largest.
  auto shade = [&](double ax0, double ax1, double ay0, double ay1, int64_t cells) {
    std::vector<float> at;
    for (int64_t r = 0; r < cells; ++r)
      for (int64_t c = 0; c < cells; ++c) {
        at.push_back((float)(ax0 + (c + 0.5) * (ax1 - ax0) / cells));
        at.push_back((float)(ay1 - (r + 0.5) * (ay1 - ay0) / cells));
      }
    std::vector<float> logp = background(at);
    float peak = -INFINITY;
    for (float v : logp)
      peak = std::isfinite(v) ? std::max(peak, v) : peak;
    // One value per cell, whatever |background| returned.
    std::vector<double> rel((size_t)(cells * cells), 0.0);
    for (size_t i = 0; i < logp.size() && i < rel.size(); ++i)
      rel[i] = std::isfinite(logp[i]) && std::isfinite(peak) ? std::exp(logp[i] - peak) : 0.0;
    return rel;
  };
  if (background) {
    // Widen the box to where the density is above 1% of its peak, looked
    // for over three times the points' box: the prior's modes show even
    // where no code has reached them yet.
    double wx = x1 - x0, wy = y1 - y0;
    const int64_t coarse = 60;
    std::vector<double> rel = shade(x0 - wx, x1 + wx, y0 - wy, y1 + wy, coarse);
    for (int64_t r = 0; r < coarse; ++r)
      for (int64_t c = 0; c < coarse; ++c)
        if (rel[(size_t)(r * coarse + c)] >= 0.01) {
          double cx = x0 - wx + (c + 0.5) * 3 * wx / coarse;
          double cy = y1 + wy - (r + 0.5) * 3 * wy / coarse;
          x0 = std::min(x0, cx), x1 = std::max(x1, cx);
          y0 = std::min(y0, cy), y1 = std::max(y1, cy);
        }
    // Cells of 4 pixels, white where the density is low, slate where it
    // peaks; the square root shows the low modes.
    const int64_t cell = 4, cells = (side - 2) / cell;
    rel = shade(x0, x0 + (x1 - x0) * cells * cell / (side - 2), y1 - (y1 - y0) * cells * cell /
                (side - 2), y1, cells);
    for (int64_t r = 0; r < cells; ++r)
      for (int64_t c = 0; c < cells; ++c) {
        double t = std::sqrt(rel[(size_t)(r * cells + c)]);
        auto mix = [&](int v) { return (uint8_t)std::lround(255 - t * (255 - v)); };
        cv.square(left + c * cell, top + r * cell, cell, RGB{mix(150), mix(160), mix(185)});
      }
  }
  cv.text(left, 10, title, kBlack, 2);
  for (int q = 0; q <= 4; ++q) {
    cv.line(left, top + side * q / 4, left + side, top + side * q / 4, kGrid);
    cv.line(left + side * q / 4, top, left + side * q / 4, top + side, kGrid);
  }
  cv.line(left, top, left, top + side, kAxis);
  cv.line(left, top + side, left + side, top + side, kAxis);
  std::string ys1 = number(y1), ys0 = number(y0), xs0 = number(x0), xs1 = number(x1);
  cv.text(left - 6 - Canvas::textWidth(ys1), top - 3, ys1, kBlack);
  cv.text(left - 6 - Canvas::textWidth(ys0), top + side - 4, ys0, kBlack);
  cv.text(left, top + side + 6, xs0, kBlack);
  cv.text(left + side - Canvas::textWidth(xs1), top + side + 6, xs1, kBlack);
  for (size_t i = 0; i < cls.size(); ++i) {
    if (!std::isfinite(xs[i]) || !std::isfinite(ys[i]))
      continue;
    int64_t x = left + (int64_t)std::lround((xs[i] - x0) / (x1 - x0) * (side - 2));
    int64_t y = top + side - 2 - (int64_t)std::lround((ys[i] - y0) / (y1 - y0) * (side - 2));
    int c = cls[i];
    cv.square(x, y, 2, c >= 0 ? kPalette[c % 10] : kAxis);
  }
  for (size_t k = 0; k < names.size(); ++k) {
    int64_t y = top + 8 + (int64_t)k * 18;
    cv.square(left + side + 14, y, 9, kPalette[k % 10]);
    cv.text(left + side + 28, y + 1, names[k], kBlack);
  }
  if (background) {
    int64_t y = top + 8 + (int64_t)names.size() * 18 + 8;
    cv.square(left + side + 14, y, 9, RGB{150, 160, 185});
    cv.text(left + side + 28, y + 1, backgroundName, kBlack);
  }
  return cv.write(path);
}

} // namespace gmrt
