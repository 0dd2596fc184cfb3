// Schema: the keys lstmad.yaml accepts, map by map. These are the lists the
// reader enforces (a key outside them is "unknown key (expected one of:
// ...)"), exposed so that tests can hold docs/configuration.md and other
// descriptions of the file to them. Constant data; safe from any thread.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lstmad::config {

// One map of the configuration with a fixed set of keys. `path` is its key
// path with list elements written `[]`: "" (the root), "ingest.tls",
// "models[]", "models[].detector". `keys` are in the order error messages
// list them.
struct SchemaSection {
  std::string_view path;
  std::span<const std::string_view> keys;
};

// Every fixed-key map of lstmad.yaml, parents before children. Maps keyed by
// the user (metrics.basic_auth_users: user names) are values, not sections;
// where their values are fixed-key maps, the user's key is written as a
// <placeholder>: "models[].guards.<feature>".
std::span<const SchemaSection> Schema();

struct SchemaKey {
  std::string path;  // "ingest.listen", "models", "models[].alert.for"
  bool section;      // whether the key holds a section (a map, or a list of maps) of its own
};

// Every accepted key, sections' own keys included, in Schema() order.
std::vector<SchemaKey> SchemaKeys();

}  // namespace lstmad::config
