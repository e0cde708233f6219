//===- Layers.cpp - products, convolutions, normalisation, recurrent cells ---===//
//
// Direct loops over the documented formulas of each layer (GMOps.td), the
// composites included: masked layers, the LSTM cell, embedding lookups and
// reconstruction losses are computed here whole, not through the core ops
// gm-decompose rewrites them into, so that rewrite is checked against them.
//
//===----------------------------------------------------------------------===//

#include "compiler/Eval/Kernels.h"
#include "compiler/Eval/Rules.h"

#include <algorithm>
#include <cmath>
#include <optional>

using namespace mlir;
using namespace mlir::gm;
using namespace ::gm::eval;
using ::gm::Distribution;
using ::gm::Real;
using ::gm::RtValue;
using ::gm::Tensor;

void ::gm::eval::registerLayerRules(Rules &rules) {
  rules.def<MatmulOp>([](MatmulOp o, Frame &frame) {
    const Tensor &a = frame.T(o.getLhs()), &b = frame.T(o.getRhs());
    int64_t m = a.shape[0], k = a.shape[1], n = b.shape[1];
    Tensor out({m, n});
    for (int64_t i = 0; i < m; ++i)
      for (int64_t p = 0; p < k; ++p)
        for (int64_t j = 0; j < n; ++j)
          out.data[i * n + j] += a.data[i * k + p] * b.data[p * n + j];
    frame.setT(o, std::move(out));
    return true;
  });
  rules.def<LinearOp, MaskedLinearOp>([](auto o, Frame &frame) {
    // y[b, o] = sum_i x[b, i] w[o, i] (masked) + bias[o].
    const Tensor &x = frame.T(o.getInput()), &w = frame.T(o.getWeight());
    int64_t b = x.shape[0], in = x.shape[1], out = w.shape[0];
    std::optional<MaskKind> mask;
    // The op's own mask (getLinearMask), not a second copy of its rule.
    SmallVector<float> keep;
    if (auto m = dyn_cast<MaskedLinearOp>(o.getOperation())) {
      mask = m.getMask();
      keep = llvm::to_vector(
          getLinearMask(cast<RankedTensorType>(m.getWeight().getType()), *mask).template getValues<float>());
    }
    Tensor y({b, out});
    for (int64_t n = 0; n < b; ++n)
      for (int64_t r = 0; r < out; ++r) {
        Real s = o.getBias() ? frame.T(o.getBias()).data[r] : 0.0;
        for (int64_t i = 0; i < in; ++i) {
          if (mask && !keep[r * in + i])
            continue;
          s += x.data[n * in + i] * w.data[r * in + i];
        }
        y.data[n * out + r] = s;
      }
    frame.setT(o, std::move(y));
    return true;
  });
  rules.def<Conv2DOp, MaskedConv2DOp>([](auto o, Frame &frame) {
    const Tensor &x = frame.T(o.getInput()), &w = frame.T(o.getWeight());
    int64_t b = x.shape[0], c = x.shape[1], h = x.shape[2], wd = x.shape[3];
    int64_t oc = w.shape[0], kh = w.shape[2], kw = w.shape[3];
    int64_t sh = 1, sw = 1, ph = (kh - 1) / 2, pw = (kw - 1) / 2;
    std::optional<MaskKind> mask;
    if (auto conv = dyn_cast<Conv2DOp>(o.getOperation())) {
      sh = conv.getStride()[0];
      sw = conv.getStride()[1];
      ph = conv.getPadding()[0];
      pw = conv.getPadding()[1];
    } else {
      mask = cast<MaskedConv2DOp>(o.getOperation()).getMask();
    }
    auto shape = concreteShape(o.getType(), b);
    int64_t oh = shape[2], ow = shape[3];
    Tensor y(shape);
    for (int64_t n = 0; n < b; ++n)
      for (int64_t f = 0; f < oc; ++f)
        for (int64_t i = 0; i < oh; ++i)
          for (int64_t j = 0; j < ow; ++j) {
            Real s = o.getBias() ? frame.T(o.getBias()).data[f] : 0.0;
            for (int64_t ch = 0; ch < c; ++ch)
              for (int64_t di = 0; di < kh; ++di)
                for (int64_t dj = 0; dj < kw; ++dj) {
                  // PixelCNN: rows above the centre, or the centre row
                  // left of (A) or up to (B) the centre.
                  if (mask &&
                      (di > kh / 2 ||
                       (di == kh / 2 && (*mask == MaskKind::A ? dj >= kw / 2 : dj > kw / 2))))
                    continue;
                  int64_t yi = i * sh - ph + di, xj = j * sw - pw + dj;
                  if (yi < 0 || yi >= h || xj < 0 || xj >= wd)
                    continue;
                  s += x.data[((n * c + ch) * h + yi) * wd + xj] *
                       w.data[((f * c + ch) * kh + di) * kw + dj];
                }
            y.data[((n * oc + f) * oh + i) * ow + j] = s;
          }
    frame.setT(o, std::move(y));
    return true;
  });
  rules.def<Conv2DTransposeOp>([](Conv2DTransposeOp o, Frame &frame) {
    // y[n, f, i*s - p + di, j*s - p + dj] += x[n, c, i, j] w[c, f, di, dj].
    const Tensor &x = frame.T(o.getInput()), &w = frame.T(o.getWeight());
    int64_t b = x.shape[0], c = x.shape[1], h = x.shape[2], wd = x.shape[3];
    int64_t oc = w.shape[1], kh = w.shape[2], kw = w.shape[3];
    int64_t sh = o.getStride()[0], sw = o.getStride()[1];
    int64_t ph = o.getPadding()[0], pw = o.getPadding()[1];
    auto shape = concreteShape(o.getType(), b);
    int64_t oh = shape[2], ow = shape[3];
    Tensor y(shape);
    for (int64_t n = 0; n < b; ++n) {
      for (int64_t f = 0; f < oc; ++f)
        for (int64_t i = 0; i < oh * ow; ++i)
          y.data[(n * oc + f) * oh * ow + i] = o.getBias() ? frame.T(o.getBias()).data[f] : 0.0;
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t i = 0; i < h; ++i)
          for (int64_t j = 0; j < wd; ++j) {
            Real v = x.data[((n * c + ch) * h + i) * wd + j];
            for (int64_t f = 0; f < oc; ++f)
              for (int64_t di = 0; di < kh; ++di)
                for (int64_t dj = 0; dj < kw; ++dj) {
                  int64_t yi = i * sh - ph + di, yj = j * sw - pw + dj;
                  if (yi < 0 || yi >= oh || yj < 0 || yj >= ow)
                    continue;
                  y.data[((n * oc + f) * oh + yi) * ow + yj] +=
                      v * w.data[((ch * oc + f) * kh + di) * kw + dj];
                }
          }
    }
    frame.setT(o, std::move(y));
    return true;
  });
  rules.def<Conv2DWeightGradOp>([](Conv2DWeightGradOp o, Frame &frame) {
    // dw[o, c, i, j] = sum_{b, h, w} g[b, o, h, w] x[b, c, h s - p + i, w s - p + j]
    const Tensor &x = frame.T(o.getInput()), &g = frame.T(o.getGrad());
    auto shape = concreteShape(o.getType(), 0);
    int64_t oc = shape[0], c = shape[1], kh = shape[2], kw = shape[3];
    int64_t b = x.shape[0], h = x.shape[2], wd = x.shape[3];
    int64_t gh = g.shape[2], gw = g.shape[3];
    int64_t sh = o.getStride()[0], sw = o.getStride()[1];
    int64_t ph = o.getPadding()[0], pw = o.getPadding()[1];
    Tensor dw(shape);
    for (int64_t f = 0; f < oc; ++f)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t di = 0; di < kh; ++di)
          for (int64_t dj = 0; dj < kw; ++dj) {
            Real s = 0;
            for (int64_t n = 0; n < b; ++n)
              for (int64_t i = 0; i < gh; ++i)
                for (int64_t j = 0; j < gw; ++j) {
                  int64_t yi = i * sh - ph + di, xj = j * sw - pw + dj;
                  if (yi < 0 || yi >= h || xj < 0 || xj >= wd)
                    continue;
                  s += g.data[((n * oc + f) * gh + i) * gw + j] *
                       x.data[((n * c + ch) * h + yi) * wd + xj];
                }
            dw.data[((f * c + ch) * kh + di) * kw + dj] = s;
          }
    frame.setT(o, std::move(dw));
    return true;
  });
  rules.def<EmbeddingGradOp>([](EmbeddingGradOp o, Frame &frame) {
    const Tensor &ids = frame.T(o.getIds()), &g = frame.T(o.getGrad());
    auto shape = concreteShape(o.getType(), 0);
    int64_t vocab = shape[0], e = shape[1];
    Tensor dt(shape);
    for (int64_t i = 0; i < ids.numel(); ++i) {
      int64_t id = (int64_t)ids.data[i];
      if (id < 0 || id >= vocab)
        return frame.fail(o, "token id " + Twine(id) + " is out of range");
      for (int64_t k = 0; k < e; ++k)
        dt.data[id * e + k] += g.data[i * e + k];
    }
    frame.setT(o, std::move(dt));
    return true;
  });
  rules.def<RowLSTMGradOp>([](RowLSTMGradOp o, Frame &frame) {
    // Forward again, keeping every row's gates and states, then back
    // through the rows: row r's gates read x[r] (mask B) and h[r-1].
    const Tensor &x = frame.T(o.getInput()), &wis = frame.T(o.getWIs()), &wss = frame.T(o.getWSs());
    const Tensor &bias = frame.T(o.getBias()), &gy = frame.T(o.getGrad());
    int64_t b = x.shape[0], c = x.shape[1], rows = x.shape[2], cols = x.shape[3];
    int64_t g4 = wis.shape[0], hid = g4 / 4, k = wis.shape[3], half = k / 2;
    Tensor dx(x.shape), dwis(wis.shape), dwss(wss.shape), db(bias.shape);
    // Per row: activated gates i, f, g, o (4H x cols), cell c and hidden h.
    std::vector<Real> act(rows * g4 * cols), cell((rows + 1) * hid * cols),
        hidden((rows + 1) * hid * cols);
    auto X = [&](int64_t n, int64_t ch, int64_t r, int64_t j) -> Real {
      return x.data[((n * c + ch) * rows + r) * cols + j];
    };
    for (int64_t n = 0; n < b; ++n) {
      std::fill(cell.begin(), cell.end(), 0.0L);
      std::fill(hidden.begin(), hidden.end(), 0.0L);
      // cell/hidden row r + 1 holds row r; row 0 is the zero state.
      for (int64_t r = 0; r < rows; ++r) {
        Real *prevH = &hidden[r * hid * cols];
        for (int64_t g = 0; g < g4; ++g)
          for (int64_t j = 0; j < cols; ++j) {
            Real s = bias.data[g];
            for (int64_t dj = 0; dj < k; ++dj) {
              int64_t src = j - half + dj;
              if (src < 0 || src >= cols)
                continue;
              if (dj <= half)
                for (int64_t ch = 0; ch < c; ++ch)
                  s += X(n, ch, r, src) * wis.data[(g * c + ch) * k + dj];
              for (int64_t hh = 0; hh < hid; ++hh)
                s += prevH[hh * cols + src] * wss.data[(g * hid + hh) * k + dj];
            }
            act[(r * g4 + g) * cols + j] = g / hid == 2 ? std::tanh(s) : sigmoid(s);
          }
        for (int64_t hh = 0; hh < hid; ++hh)
          for (int64_t j = 0; j < cols; ++j) {
            auto A = [&](int64_t q) { return act[(r * g4 + q * hid + hh) * cols + j]; };
            Real cv = A(1) * cell[(r * hid + hh) * cols + j] + A(0) * A(2);
            cell[((r + 1) * hid + hh) * cols + j] = cv;
            hidden[((r + 1) * hid + hh) * cols + j] = A(3) * std::tanh(cv);
          }
      }
      // Backwards: dh and dc of row r, carried to row r - 1.
      std::vector<Real> dh(hid * cols, 0.0L), dc(hid * cols, 0.0L), dg(g4 * cols);
      for (int64_t r = rows - 1; r >= 0; --r) {
        for (int64_t hh = 0; hh < hid; ++hh)
          for (int64_t j = 0; j < cols; ++j) {
            int64_t at = hh * cols + j;
            auto A = [&](int64_t q) { return act[(r * g4 + q * hid + hh) * cols + j]; };
            Real dhv = dh[at] + gy.data[((n * hid + hh) * rows + r) * cols + j];
            Real cv = cell[((r + 1) * hid + hh) * cols + j];
            Real tc = std::tanh(cv);
            Real dcv = dc[at] + dhv * A(3) * (1 - tc * tc);
            Real cprev = cell[(r * hid + hh) * cols + j];
            dg[(0 * hid + hh) * cols + j] = dcv * A(2) * A(0) * (1 - A(0));
            dg[(1 * hid + hh) * cols + j] = dcv * cprev * A(1) * (1 - A(1));
            dg[(2 * hid + hh) * cols + j] = dcv * A(0) * (1 - A(2) * A(2));
            dg[(3 * hid + hh) * cols + j] = dhv * tc * A(3) * (1 - A(3));
            dc[at] = dcv * A(1);
          }
        std::fill(dh.begin(), dh.end(), 0.0L);
        Real *prevH = &hidden[r * hid * cols];
        for (int64_t g = 0; g < g4; ++g)
          for (int64_t j = 0; j < cols; ++j) {
            Real d = dg[g * cols + j];
            db.data[g] += d;
            for (int64_t dj = 0; dj < k; ++dj) {
              int64_t src = j - half + dj;
              if (src < 0 || src >= cols)
                continue;
              if (dj <= half)
                for (int64_t ch = 0; ch < c; ++ch) {
                  dwis.data[(g * c + ch) * k + dj] += d * X(n, ch, r, src);
                  dx.data[((n * c + ch) * rows + r) * cols + src] +=
                      d * wis.data[(g * c + ch) * k + dj];
                }
              for (int64_t hh = 0; hh < hid; ++hh) {
                dwss.data[(g * hid + hh) * k + dj] += d * prevH[hh * cols + src];
                dh[hh * cols + src] += d * wss.data[(g * hid + hh) * k + dj];
              }
            }
          }
      }
    }
    frame.setT(o.getDInput(), std::move(dx));
    frame.setT(o.getDWIs(), std::move(dwis));
    frame.setT(o.getDWSs(), std::move(dwss));
    frame.setT(o.getDBias(), std::move(db));
    return true;
  });
  rules.def<NadeGradOp>([](NadeGradOp o, Frame &frame) {
    // Forward again, then backwards over d with s = sum of the hidden
    // adjoints of the conditionals after d.
    const Tensor &x = frame.T(o.getInput()), &w = frame.T(o.getW()), &c = frame.T(o.getC());
    const Tensor &v = frame.T(o.getV()), &g = frame.T(o.getGrad());
    int64_t b = x.shape[0], d = x.shape[1], hid = w.shape[0];
    Tensor dx(x.shape), dw(w.shape), dc(c.shape), dv(v.shape), db({d});
    std::vector<Real> a((d + 1) * hid), s(hid);
    for (int64_t n = 0; n < b; ++n) {
      std::copy(c.data.begin(), c.data.end(), a.begin());
      for (int64_t i = 0; i < d; ++i)
        for (int64_t j = 0; j < hid; ++j)
          a[(i + 1) * hid + j] = a[i * hid + j] + w.data[j * d + i] * x.data[n * d + i];
      std::fill(s.begin(), s.end(), 0.0);
      for (int64_t i = d - 1; i >= 0; --i) {
        // x_i feeds a_{i+1} and later: its weight column meets s.
        Real dxi = 0;
        for (int64_t j = 0; j < hid; ++j) {
          dw.data[j * d + i] += s[j] * x.data[n * d + i];
          dxi += w.data[j * d + i] * s[j];
        }
        dx.data[n * d + i] = dxi;
        Real gi = g.data[n * d + i];
        db.data[i] += gi;
        for (int64_t j = 0; j < hid; ++j) {
          Real hj = sigmoid(a[i * hid + j]);
          dv.data[i * hid + j] += gi * hj;
          s[j] += gi * v.data[i * hid + j] * hj * (1 - hj);
        }
      }
      for (int64_t j = 0; j < hid; ++j)
        dc.data[j] += s[j];
    }
    frame.setT(o.getDInput(), std::move(dx));
    frame.setT(o.getDW(), std::move(dw));
    frame.setT(o.getDC(), std::move(dc));
    frame.setT(o.getDV(), std::move(dv));
    frame.setT(o.getDB(), std::move(db));
    return true;
  });
  rules.def<BatchNormOp>([](BatchNormOp o, Frame &frame) {
    // Per channel c: batch mean and (biased) variance over B and space.
    const Tensor &x = frame.T(o.getInput()), &g = frame.T(o.getGamma()), &bt = frame.T(o.getBeta());
    int64_t b = x.shape[0], c = x.shape[1], inner = x.numel() / b / c;
    Real eps = o.getEps().convertToDouble();
    Tensor y(x.shape);
    for (int64_t ch = 0; ch < c; ++ch) {
      Real mean = 0, var = 0;
      for (int64_t n = 0; n < b; ++n)
        for (int64_t i = 0; i < inner; ++i)
          mean += x.data[(n * c + ch) * inner + i];
      mean /= b * inner;
      for (int64_t n = 0; n < b; ++n)
        for (int64_t i = 0; i < inner; ++i) {
          Real d = x.data[(n * c + ch) * inner + i] - mean;
          var += d * d;
        }
      var /= b * inner;
      Real inv = 1 / std::sqrt(var + eps);
      for (int64_t n = 0; n < b; ++n)
        for (int64_t i = 0; i < inner; ++i) {
          int64_t at = (n * c + ch) * inner + i;
          y.data[at] = g.data[ch] * (x.data[at] - mean) * inv + bt.data[ch];
        }
    }
    frame.setT(o, std::move(y));
    return true;
  });
  rules.def<EmbeddingOp>([](EmbeddingOp o, Frame &frame) {
    const Tensor &ids = frame.T(o.getIds()), &table = frame.T(o.getTable());
    int64_t vocab = table.shape[0], e = table.shape[1];
    Tensor y(concreteShape(o.getType(), ids.shape[0]));
    for (int64_t i = 0; i < ids.numel(); ++i) {
      int64_t id = (int64_t)ids.data[i];
      if (id < 0 || id >= vocab)
        return frame.fail(o, "token id " + Twine(id) + " is out of range for a vocabulary of " +
                                 Twine(vocab));
      std::copy_n(&table.data[id * e], e, &y.data[i * e]);
    }
    frame.setT(o, std::move(y));
    return true;
  });
  rules.def<LSTMCellOp>([](LSTMCellOp o, Frame &frame) {
    // gates = x W_ih^T + h W_hh^T + b, in the order i, f, g, o.
    const Tensor &x = frame.T(o.getInput()), &h = frame.T(o.getH()), &c = frame.T(o.getC());
    const Tensor &wih = frame.T(o.getWIh()), &whh = frame.T(o.getWHh()),
                 &bias = frame.T(o.getBias());
    int64_t b = x.shape[0], in = x.shape[1], hid = h.shape[1];
    Tensor hn({b, hid}), cn({b, hid});
    std::vector<Real> gates(4 * hid);
    for (int64_t n = 0; n < b; ++n) {
      for (int64_t g = 0; g < 4 * hid; ++g) {
        Real s = bias.data[g];
        for (int64_t i = 0; i < in; ++i)
          s += x.data[n * in + i] * wih.data[g * in + i];
        for (int64_t i = 0; i < hid; ++i)
          s += h.data[n * hid + i] * whh.data[g * hid + i];
        gates[g] = s;
      }
      for (int64_t j = 0; j < hid; ++j) {
        Real ig = sigmoid(gates[j]), fg = sigmoid(gates[hid + j]);
        Real gg = std::tanh(gates[2 * hid + j]), og = sigmoid(gates[3 * hid + j]);
        Real cv = fg * c.data[n * hid + j] + ig * gg;
        cn.data[n * hid + j] = cv;
        hn.data[n * hid + j] = og * std::tanh(cv);
      }
    }
    frame.setT(o.getHNext(), std::move(hn));
    frame.setT(o.getCNext(), std::move(cn));
    return true;
  });
  rules.def<RowLSTMOp>([](RowLSTMOp o, Frame &frame) {
    // Row by row: gates(r) = maskB_conv1xK(x[r], w_is) + conv1xK(h[r-1], w_ss) + b.
    const Tensor &x = frame.T(o.getInput()), &wis = frame.T(o.getWIs()), &wss = frame.T(o.getWSs());
    const Tensor &bias = frame.T(o.getBias());
    int64_t b = x.shape[0], c = x.shape[1], rows = x.shape[2], cols = x.shape[3];
    int64_t g4 = wis.shape[0], hid = g4 / 4, k = wis.shape[3], half = k / 2;
    Tensor y({b, hid, rows, cols});
    std::vector<Real> hPrev(hid * cols), cPrev(hid * cols), gates(g4 * cols);
    for (int64_t n = 0; n < b; ++n) {
      std::fill(hPrev.begin(), hPrev.end(), 0.0);
      std::fill(cPrev.begin(), cPrev.end(), 0.0);
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t g = 0; g < g4; ++g)
          for (int64_t j = 0; j < cols; ++j) {
            Real s = bias.data[g];
            for (int64_t dj = 0; dj < k; ++dj) {
              int64_t src = j - half + dj;
              if (src < 0 || src >= cols)
                continue;
              if (dj <= half) // mask B: the current column and left of it
                for (int64_t ch = 0; ch < c; ++ch)
                  s += x.data[((n * c + ch) * rows + r) * cols + src] *
                       wis.data[(g * c + ch) * k + dj];
              for (int64_t hh = 0; hh < hid; ++hh)
                s += hPrev[hh * cols + src] * wss.data[(g * hid + hh) * k + dj];
            }
            gates[g * cols + j] = s;
          }
        for (int64_t hh = 0; hh < hid; ++hh)
          for (int64_t j = 0; j < cols; ++j) {
            Real ig = sigmoid(gates[hh * cols + j]);
            Real fg = sigmoid(gates[(hid + hh) * cols + j]);
            Real gg = std::tanh(gates[(2 * hid + hh) * cols + j]);
            Real og = sigmoid(gates[(3 * hid + hh) * cols + j]);
            Real cv = fg * cPrev[hh * cols + j] + ig * gg;
            cPrev[hh * cols + j] = cv;
            Real hv = og * std::tanh(cv);
            y.data[((n * hid + hh) * rows + r) * cols + j] = hv;
          }
        for (int64_t hh = 0; hh < hid; ++hh)
          for (int64_t j = 0; j < cols; ++j)
            hPrev[hh * cols + j] = y.data[((n * hid + hh) * rows + r) * cols + j];
      }
    }
    frame.setT(o, std::move(y));
    return true;
  });
  rules.def<NadeOp>([](NadeOp o, Frame &frame) {
    // a_0 = c; logit_d = b_d + V[d] . sigmoid(a_d); a_{d+1} = a_d + W[:, d] x_d.
    const Tensor &x = frame.T(o.getInput()), &w = frame.T(o.getW()), &c = frame.T(o.getC());
    const Tensor &v = frame.T(o.getV()), &bb = frame.T(o.getB());
    int64_t b = x.shape[0], d = x.shape[1], hid = w.shape[0];
    Tensor y({b, d});
    std::vector<Real> a(hid);
    for (int64_t n = 0; n < b; ++n) {
      std::copy(c.data.begin(), c.data.end(), a.begin());
      for (int64_t i = 0; i < d; ++i) {
        Real s = bb.data[i];
        for (int64_t j = 0; j < hid; ++j)
          s += v.data[i * hid + j] * sigmoid(a[j]);
        y.data[n * d + i] = s;
        Real xi = x.data[n * d + i];
        for (int64_t j = 0; j < hid; ++j)
          a[j] += w.data[j * d + i] * xi;
      }
    }
    frame.setT(o, std::move(y));
    return true;
  });
  rules.def<ReconLossOp>([](ReconLossOp o, Frame &frame) {
    const Tensor &p = frame.T(o.getPrediction()), &t = frame.T(o.getTarget());
    Tensor e(p.shape);
    switch (o.getKind()) {
    case LossKind::mse:
      for (int64_t i = 0; i < p.numel(); ++i)
        e.data[i] = (p.data[i] - t.data[i]) * (p.data[i] - t.data[i]);
      break;
    case LossKind::l1:
      for (int64_t i = 0; i < p.numel(); ++i)
        e.data[i] = std::fabs(p.data[i] - t.data[i]);
      break;
    case LossKind::bce_logits:
      for (int64_t i = 0; i < p.numel(); ++i)
        e.data[i] = softplus(p.data[i]) - t.data[i] * p.data[i];
      break;
    case LossKind::softmax_xent: {
      Tensor ls = logSoftmaxLast(p);
      for (int64_t i = 0; i < p.numel(); ++i)
        e.data[i] = -t.data[i] * ls.data[i];
      break;
    }
    }
    frame.setT(o, perExampleSum(e));
    return true;
  });
}
