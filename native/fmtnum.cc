// fmtNum: JavaScript-like number formatting for error messages.
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "kernels.h"

namespace ctr {

std::string fmtNum(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  // Shortest of up to 17 significant digits that round-trips, as JS prints doubles.
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

}  // namespace ctr
