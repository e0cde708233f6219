//===- plot.h - line and scatter plots as PNG --------------------*- C++ -*-===//
//
// What people would rather look at than read: the loss curves of a training
// run and a 2-D latent space coloured by class. Drawn into an RGB canvas
// with a built-in 5x7 font (no font files, no plotting library).
//
//===----------------------------------------------------------------------===//

#ifndef GMRT_PLOT_H
#define GMRT_PLOT_H

#include "runtime/include/gmrt/status.h"

#include <functional>
#include <string>
#include <vector>

namespace gmrt {

/// One curve: y over x, named.
struct Series {
  std::string label;
  std::vector<double> x, y;
};

/// One panel per series, stacked, each with its own y range (a GAN's two
/// losses differ in scale) and x range, with its label above it, the
/// ranges written at the axes' ends and |xLabel| under the last panel.
/// Non-finite points are skipped. Written atomically.
Status writeLinePlots(const std::string &path, const std::string &xLabel,
                      const std::vector<Series> &series);

/// A log-density, evaluated at points (x0, y0, x1, y1, ...): one value
/// per point.
using LogDensity = std::function<std::vector<float>(const std::vector<float> &xy)>;

/// Points (xy: x0, y0, x1, y1, ...) coloured by class (|cls| in
/// [0, names.size())), with |title| above and a legend of |names|. With
/// |background|, the plot is shaded by that density (darker where it is
/// higher), named |backgroundName| in the legend, and its range widens to
/// take in where the density has mass: the codes an encoder computes, drawn
/// over the prior they should follow.
Status writeScatter(const std::string &path, const std::string &title,
                    const std::vector<float> &xy, const std::vector<int> &cls,
                    const std::vector<std::string> &names, const LogDensity &background = {},
                    const std::string &backgroundName = "");

} // namespace gmrt

#endif // GMRT_PLOT_H
