// Per-client-address bookkeeping for the listeners: how many connections an
// address holds (limits.max_connections_per_peer on the ingest port,
// metrics.max_connections_per_peer on the metrics port), and how many failed
// basic-auth attempts it made in the current minute
// (metrics.max_auth_failures_per_minute). A peer is its IP address: a client
// cannot pick it freely the way it picks its source port.
// Thread-compatible: each instance is used on the io thread only.
#pragma once

#include <chrono>
#include <map>

#include "net/asio.h"

namespace lstmad::daemon {

// The address a peer is counted under: an IPv4-mapped IPv6 address counts as
// the IPv4 address, so a dual-stack listener does not give it two budgets.
inline asio::ip::address PeerKey(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

// Open connections per address. An address with none has no entry, so the
// map holds at most as many entries as there are open connections.
class PeerCounts {
 public:
  int count(const asio::ip::address& peer) const {
    const auto it = counts_.find(PeerKey(peer));
    return it == counts_.end() ? 0 : it->second;
  }
  void Add(const asio::ip::address& peer) { ++counts_[PeerKey(peer)]; }
  void Remove(const asio::ip::address& peer) {
    const auto it = counts_.find(PeerKey(peer));
    if (it != counts_.end() && --it->second <= 0) counts_.erase(it);
  }
  void Clear() { counts_.clear(); }
  size_t peers() const { return counts_.size(); }

 private:
  std::map<asio::ip::address, int> counts_;
};

// Failed attempts per address in fixed one-minute windows: once an address
// has `limit` failures in its current window it is blocked until the window
// ends. Entries of ended windows are dropped as new failures arrive, so the
// map holds only addresses that failed within the last minute (each entry
// cost the attacker one whole password check, which the bounded verification
// pool rations).
class FailureWindow {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr Clock::duration kWindow = std::chrono::minutes(1);

  explicit FailureWindow(int limit) : limit_(limit) {}
  void set_limit(int limit) { limit_ = limit; }

  // Whether `peer` is blocked at `now`; if so, how long until it may try again.
  bool Blocked(const asio::ip::address& peer, Clock::time_point now,
               Clock::duration* retry_after = nullptr) const {
    const auto it = entries_.find(PeerKey(peer));
    if (it == entries_.end() || now - it->second.start >= kWindow || it->second.failures < limit_)
      return false;
    if (retry_after != nullptr) *retry_after = it->second.start + kWindow - now;
    return true;
  }

  void RecordFailure(const asio::ip::address& peer, Clock::time_point now) {
    if (entries_.size() >= kPruneAt) Prune(now);
    Entry& e = entries_[PeerKey(peer)];
    if (e.failures == 0 || now - e.start >= kWindow) e = Entry{now, 0};
    ++e.failures;
  }

  size_t peers() const { return entries_.size(); }

 private:
  static constexpr size_t kPruneAt = 256;
  struct Entry {
    Clock::time_point start;
    int failures = 0;
  };
  void Prune(Clock::time_point now) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = now - it->second.start >= kWindow ? entries_.erase(it) : std::next(it);
    }
  }

  int limit_;
  std::map<asio::ip::address, Entry> entries_;
};

}  // namespace lstmad::daemon
