// Little-endian binary encoding shared by lstmad's state formats (stream
// snapshots, detector states, cluster checkpoints): fixed-size values copied
// as they are in memory, strings and arrays behind a u32 count. The readers
// never trust a count: each checks it against the bytes left (and a caller's
// maximum) before copying, and returns false when the input is too short.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace lstmad::core::bytes {

// The formats are defined as little-endian and written by memcpy.
static_assert(std::endian::native == std::endian::little, "lstmad's state formats assume a little-endian host");

template <typename T>
void Put(std::string* out, T value) {
  static_assert(std::is_trivially_copyable_v<T>);
  char raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));
  out->append(raw, sizeof(T));
}

// u32 length, then the bytes.
inline void PutString(std::string* out, std::string_view s) {
  Put<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// The values alone (the reader knows how many).
template <typename T>
void PutValues(std::string* out, const std::vector<T>& values) {
  static_assert(std::is_trivially_copyable_v<T>);
  out->append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// u32 count, then the values.
template <typename T>
void PutCounted(std::string* out, const std::vector<T>& values) {
  Put<uint32_t>(out, static_cast<uint32_t>(values.size()));
  PutValues(out, values);
}

template <typename T>
bool Get(std::string_view* in, T* value) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (in->size() < sizeof(T)) return false;
  std::memcpy(value, in->data(), sizeof(T));
  in->remove_prefix(sizeof(T));
  return true;
}

inline bool GetString(std::string_view* in, std::string* s) {
  uint32_t n = 0;
  if (!Get(in, &n) || n > in->size()) return false;
  s->assign(in->substr(0, n));
  in->remove_prefix(n);
  return true;
}

// Exactly `count` values.
template <typename T>
bool GetValues(std::string_view* in, size_t count, std::vector<T>* out) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (count > in->size() / sizeof(T)) return false;
  out->resize(count);
  if (count != 0) std::memcpy(out->data(), in->data(), count * sizeof(T));  // data() may be null when empty
  in->remove_prefix(count * sizeof(T));
  return true;
}

// The value at byte `at` of a header whose size the caller has checked.
template <typename T>
T GetAt(std::string_view in, size_t at) {
  static_assert(std::is_trivially_copyable_v<T>);
  T value;
  std::memcpy(&value, in.data() + at, sizeof(T));
  return value;
}

// A u32 count of at most `max`, then the values.
template <typename T>
bool GetCounted(std::string_view* in, size_t max, std::vector<T>* out) {
  uint32_t n = 0;
  return Get(in, &n) && n <= max && GetValues(in, n, out);
}

}  // namespace lstmad::core::bytes
