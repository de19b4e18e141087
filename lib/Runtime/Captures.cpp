//===- Captures.cpp - data for the captures of a run ----------------------===//

#include "flashc/Runtime/Captures.h"

#include "flashc/Runtime/Runner.h"

#include <cmath>
#include <cstring>
#include <random>

using namespace flashc;

static bool isFloatType(const std::string &type) {
  return type == "f16" || type == "bf16" || type == "f32" || type == "f64";
}

bool flashc::makeHostCaptures(const KernelBundle &bundle, uint64_t seed,
                              std::vector<HostCapture> &captures,
                              std::string &error) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  captures.clear();
  for (size_t i = 0; i < bundle.captures.size(); ++i) {
    const CaptureInfo &info = bundle.captures[i];
    HostCapture capture;
    if (!info.memref) {
      capture.values = {1.0};
      captures.push_back(std::move(capture));
      continue;
    }
    int64_t count = 1;
    for (int64_t size : info.sizes) {
      if (size < 0) {
        error = "capture #" + std::to_string(i) +
                " has a dynamic size: give it a static shape to run it "
                "here (the run makes its data)";
        return false;
      }
      count *= size;
    }
    capture.sizes = info.sizes;
    capture.values.resize(count);
    int64_t last = info.sizes.back();
    for (int64_t e = 0; e < count; ++e)
      capture.values[e] = isFloatType(info.type)
                              ? normal(rng)
                              : static_cast<double>((e % last) * 4 / last);
    if (info.type == "i1")
      for (double &value : capture.values)
        value = value >= 2 ? 1 : 0;
    // What the device holds, so that the reference reads the same values.
    for (double &value : capture.values)
      if (info.type == "f16")
        value = halfToFloat(floatToHalf(static_cast<float>(value)));
      else if (info.type == "bf16")
        value = bfloat16ToFloat(floatToBFloat16(static_cast<float>(value)));
      else if (info.type == "f32")
        value = static_cast<float>(value);
    captures.push_back(std::move(capture));
  }
  return true;
}

template <typename T> static void append(std::vector<uint8_t> &bytes, T value) {
  uint8_t raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));
  bytes.insert(bytes.end(), raw, raw + sizeof(T));
}

std::vector<uint8_t> flashc::encodeCapture(const CaptureInfo &info,
                                           const HostCapture &capture) {
  std::vector<uint8_t> bytes;
  const std::string &type = info.type;
  for (double value : capture.values) {
    if (type == "f16")
      append(bytes, floatToHalf(static_cast<float>(value)));
    else if (type == "bf16")
      append(bytes, floatToBFloat16(static_cast<float>(value)));
    else if (type == "f32")
      append(bytes, static_cast<float>(value));
    else if (type == "f64")
      append(bytes, value);
    else if (type == "i1" || type == "i8")
      append(bytes, static_cast<int8_t>(value));
    else if (type == "i16")
      append(bytes, static_cast<int16_t>(value));
    else if (type == "i32")
      append(bytes, static_cast<int32_t>(value));
    else
      append(bytes, static_cast<int64_t>(value));
  }
  return bytes;
}
