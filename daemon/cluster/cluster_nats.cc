#include "cluster/cluster_nats.h"

#include "cluster/cluster_layout.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "obs/logging.h"

namespace lstmad::daemon {
namespace {

constexpr int64_t kReconnectWaitMs = 250;
constexpr int64_t kApiTimeoutMs = 5000;
// Step-downs tried to spread the leaders of the streams lstmad created, and
// the pause for the election each one starts.
constexpr int kSpreadRounds = 12;
constexpr auto kElectionWait = std::chrono::milliseconds(500);

// A sixth of lease_ttl: a round renews a few leases, each with a write and
// at worst a read, well inside one TTL. Never below what a loaded machine
// needs for a round trip, never above the general API timeout.
int64_t LeaseCallWaitMs(double lease_ttl_s) {
  return std::clamp<int64_t>(static_cast<int64_t>(lease_ttl_s * 1000 / 6), 200, kApiTimeoutMs);
}

core::Status Check(natsStatus s, const std::string& what, jsErrCode js = static_cast<jsErrCode>(0)) {
  return s == NATS_OK ? core::Status::Ok() : core::Status::Error(NatsError(what, s, js));
}

core::Status StartError(const std::string& what, natsStatus s, jsErrCode js = static_cast<jsErrCode>(0)) {
  std::string message = NatsError(what, s, js);
  natsStatus last = NATS_OK;
  const char* detail = nats_GetLastError(&last);
  return TransientStartError(s, js, detail != nullptr ? detail : "")
             ? core::Status::Unavailable(std::move(message))
             : core::Status::Error(std::move(message));
}

// A bucket that another instance has just created (or that our own create
// has just made) can be briefly unknown to the server answering the lookup
// in a replicated cluster: seen when instances start together on a fresh
// cluster. Retried like the other start-up races, not fatal.
core::Status BucketNotVisibleYet(const std::string& bucket) {
  return core::Status::Unavailable("nats: key-value bucket " + bucket +
                                   " is being created but not found yet (instances starting together)");
}

core::Result<NatsPtr<natsOptions>> BuildOptions(const config::NatsSettings& settings, const std::string& name) {
  natsOptions* raw = nullptr;
  if (natsStatus s = natsOptions_Create(&raw); s != NATS_OK) return core::Status::Error(NatsError("options", s));
  NatsPtr<natsOptions> opts(raw);
  std::vector<const char*> servers;
  for (const std::string& url : settings.servers) servers.push_back(url.c_str());
  LSTMAD_RETURN_IF_ERROR(Check(natsOptions_SetServers(opts.get(), servers.data(), static_cast<int>(servers.size())),
                               "nats.servers"));
  LSTMAD_RETURN_IF_ERROR(Check(natsOptions_SetName(opts.get(), name.c_str()), "name"));
  // The cluster outlives any one server: never give up reconnecting, and
  // buffer what is published meanwhile (checkpoints retry on failure).
  LSTMAD_RETURN_IF_ERROR(Check(natsOptions_SetMaxReconnect(opts.get(), -1), "max reconnect"));
  LSTMAD_RETURN_IF_ERROR(Check(natsOptions_SetReconnectWait(opts.get(), kReconnectWaitMs), "reconnect wait"));
  LSTMAD_RETURN_IF_ERROR(Check(natsOptions_SetRetryOnFailedConnect(opts.get(), false, nullptr, nullptr),
                               "retry on failed connect"));
  if (!settings.credentials.empty()) {
    LSTMAD_RETURN_IF_ERROR(Check(
        natsOptions_SetUserCredentialsFromFiles(opts.get(), settings.credentials.c_str(), nullptr),
        "nats.credentials " + settings.credentials));
  }
  if (!settings.tls_ca.empty() || !settings.tls_cert.empty()) {
    LSTMAD_RETURN_IF_ERROR(Check(natsOptions_SetSecure(opts.get(), true), "nats.tls"));
  }
  if (!settings.tls_ca.empty()) {
    LSTMAD_RETURN_IF_ERROR(Check(natsOptions_LoadCATrustedCertificates(opts.get(), settings.tls_ca.c_str()),
                                 "nats.tls.ca " + settings.tls_ca));
  }
  if (!settings.tls_cert.empty()) {
    LSTMAD_RETURN_IF_ERROR(Check(natsOptions_LoadCertificatesChain(opts.get(), settings.tls_cert.c_str(),
                                                                   settings.tls_key.c_str()),
                                 "nats.tls.cert/key " + settings.tls_cert));
  }
  return opts;
}

}  // namespace

bool TransientStartError(natsStatus s, jsErrCode js, std::string_view detail) {
  switch (s) {
    case NATS_IO_ERROR:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NO_SERVER:
    case NATS_STALE_CONNECTION:
    case NATS_TIMEOUT:
    case NATS_NOT_YET_CONNECTED:
    case NATS_NO_RESPONDERS: return true;
    default: break;
  }
  if (js == JSClusterNoPeersErr || js == JSClusterNotAvailErr || js == JSClusterNotLeaderErr ||
      js == JSInsufficientResourcesErr || js == JSStreamOfflineErr) {
    return true;
  }
  // js_CreateKeyValue drops the JetStream error code and keeps only the
  // server's description: the same errors, recognised by their text.
  if (s != NATS_ERR || js != 0) return false;
  static constexpr std::string_view kTransientDescriptions[] = {
      "no suitable peers for placement", "JetStream system temporarily unavailable",
      "JetStream cluster can not handle request", "insufficient resources", "stream is offline"};
  for (std::string_view d : kTransientDescriptions) {
    if (detail.find(d) != std::string_view::npos) return true;
  }
  return false;
}

std::string NatsError(const std::string& what, natsStatus s, jsErrCode js) {
  std::string out = "nats: " + what + ": " + natsStatus_GetText(s);
  if (js != 0) out += " (JetStream error " + std::to_string(static_cast<int>(js)) + ")";
  natsStatus last = NATS_OK;
  const char* detail = nats_GetLastError(&last);
  if (detail != nullptr && *detail != '\0') out += " (" + std::string(detail) + ")";
  return out;
}

ClusterNames::ClusterNames(const config::NatsSettings& s)
    : stream(s.stream),
      streams(s.streams),
      partitions(s.partitions),
      leases_bucket(s.stream + "_leases"),
      state_bucket(s.stream + "_state"),
      subject_prefix(s.subject_prefix),
      consumer_prefix(s.consumer_prefix) {}

std::string ClusterNames::StreamName(int index) const { return daemon::StreamName(stream, streams, index); }

std::vector<std::string> ClusterNames::StreamSubjects(int index) const {
  if (streams == 1) return {subject_prefix + ".p.>"};
  std::vector<std::string> out;
  for (int p = index; p < partitions; p += streams) out.push_back(PartitionSubjects(p));
  return out;
}

std::string ClusterNames::PartitionSubjects(int partition) const {
  return subject_prefix + ".p." + std::to_string(partition) + ".>";
}

std::string ClusterNames::Consumer(int partition) const {
  return consumer_prefix + "_p" + std::to_string(partition);
}

core::Result<std::unique_ptr<NatsLink>> NatsLink::Connect(const config::NatsSettings& settings,
                                                         const std::string& instance_id) {
  std::unique_ptr<NatsLink> link(new NatsLink(settings));
  auto opts = BuildOptions(settings, "lstmad " + instance_id);
  if (!opts.ok()) return opts.status();
  natsConnection* conn = nullptr;
  if (natsStatus s = natsConnection_Connect(&conn, opts->get()); s != NATS_OK) {
    return StartError("connecting to nats.servers", s);
  }
  link->conn_.reset(conn);
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = kApiTimeoutMs;
  jsCtx* js = nullptr;
  LSTMAD_RETURN_IF_ERROR(Check(natsConnection_JetStream(&js, conn, &jo), "JetStream context"));
  link->js_.reset(js);
  jo.Wait = LeaseCallWaitMs(settings.lease_ttl_s);
  jsCtx* lease_js = nullptr;
  LSTMAD_RETURN_IF_ERROR(Check(natsConnection_JetStream(&lease_js, conn, &jo), "JetStream context"));
  link->lease_js_.reset(lease_js);
  bool created = false;
  for (int i = 0; i < settings.streams; ++i) LSTMAD_RETURN_IF_ERROR(link->EnsureStream(settings, i, &created));
  if (created && settings.streams > 1) link->SpreadLeaders(settings);
  // kvConfig.TTL is in nanoseconds in this client (3.4), like MaxAge.
  const auto ttl_ns = static_cast<int64_t>(settings.lease_ttl_s * 1e9);
  LSTMAD_RETURN_IF_ERROR(
      link->EnsureBucket(lease_js, link->names_.leases_bucket, settings.replicas, ttl_ns, &link->leases_));
  LSTMAD_RETURN_IF_ERROR(
      link->EnsureBucket(js, link->names_.state_bucket, settings.replicas, 0, &link->state_));
  return link;
}

NatsLink::~NatsLink() {
  // Handles that use the connection go before it.
  leases_.reset();
  state_.reset();
  lease_js_.reset();
  js_.reset();
  if (conn_) natsConnection_Close(conn_.get());
}

natsStatus NatsLink::ReadKey(const std::string& bucket, const std::string& key, std::string* value,
                             uint64_t* revision) const {
  natsMsg* raw = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  jsCtx* js = bucket == names_.leases_bucket ? lease_js_.get() : js_.get();
  const natsStatus s = js_GetLastMsg(&raw, js, ("KV_" + bucket).c_str(), ("$KV." + bucket + "." + key).c_str(),
                                     nullptr, &jerr);
  if (s != NATS_OK) return s;
  NatsPtr<natsMsg> msg(raw);
  const char* op = nullptr;
  if (natsMsgHeader_Get(raw, "KV-Operation", &op) == NATS_OK && op != nullptr) return NATS_NOT_FOUND;  // DEL, PURGE
  value->assign(natsMsg_GetData(raw), static_cast<size_t>(natsMsg_GetDataLength(raw)));
  *revision = natsMsg_GetSequence(raw);
  return NATS_OK;
}

void NatsLink::SpreadLeaders(const config::NatsSettings& settings) {
  // JetStream elects each new stream's leader among its replicas at random:
  // three streams on three servers share one leader one time in nine. A
  // leader that leads more of them than the least busy server plus one is
  // asked to step down (its successor is again a random replica), until
  // they are spread or the rounds run out. Best effort: never fatal.
  std::map<std::string, std::vector<std::string>> led;  // server -> the streams it leads
  for (int round = 0; round <= kSpreadRounds; ++round) {
    led.clear();
    std::set<std::string> servers;
    bool elected = true;
    for (int i = 0; i < settings.streams; ++i) {
      const std::string name = names_.StreamName(i);
      jsStreamInfo* info = nullptr;
      jsErrCode jerr = static_cast<jsErrCode>(0);
      if (js_GetStreamInfo(&info, js_.get(), name.c_str(), nullptr, &jerr) != NATS_OK) return;
      NatsPtr<jsStreamInfo> owned(info);
      const jsClusterInfo* cluster = info->Cluster;
      if (cluster == nullptr) return;  // a single server: nothing to spread
      if (cluster->Leader == nullptr || *cluster->Leader == '\0') {
        elected = false;
        continue;
      }
      led[cluster->Leader].push_back(name);
      servers.insert(cluster->Leader);
      for (int r = 0; r < cluster->ReplicasLen; ++r) servers.insert(cluster->Replicas[r]->Name);
    }
    if (!elected) {
      std::this_thread::sleep_for(kElectionWait);
      continue;
    }
    auto busiest = led.begin();
    size_t fewest = led.size() < servers.size() ? 0 : SIZE_MAX;
    for (auto it = led.begin(); it != led.end(); ++it) {
      if (it->second.size() > busiest->second.size()) busiest = it;
      fewest = std::min(fewest, it->second.size());
    }
    if (busiest->second.size() <= fewest + 1) {
      Log(LogLevel::kInfo, "stream leaders spread",
          {Field("servers", static_cast<int64_t>(led.size())), Field("step_downs", static_cast<int64_t>(round))});
      return;
    }
    if (round == kSpreadRounds) break;
    natsMsg* reply = nullptr;
    const std::string subject = "$JS.API.STREAM.LEADER.STEPDOWN." + busiest->second.front();
    if (natsConnection_Request(&reply, conn_.get(), subject.c_str(), nullptr, 0, kApiTimeoutMs) == NATS_OK) {
      natsMsg_Destroy(reply);
    }
    std::this_thread::sleep_for(kElectionWait);
  }
  Log(LogLevel::kWarn, "stream leaders not spread over the servers; JetStream placed them",
      {Field("servers_leading", static_cast<int64_t>(led.size())), Field("streams", settings.streams)});
}

core::Status NatsLink::EnsureStream(const config::NatsSettings& settings, int index, bool* created) {
  const std::string name = names_.StreamName(index);
  const std::vector<std::string> want = names_.StreamSubjects(index);
  jsStreamInfo* info = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&info, js_.get(), name.c_str(), nullptr, &jerr);
  if (s == NATS_OK) {
    NatsPtr<jsStreamInfo> owned(info);
    // An operator's existing stream (limits, placement) is left as it is.
    // With several streams its subjects must be the partitions lstmad
    // consumes from it, or partitions would be fed into the wrong stream:
    // a stream of another nats.streams or nats.partitions is refused.
    if (settings.streams == 1) return core::Status::Ok();
    std::vector<std::string> have;
    for (int i = 0; i < info->Config->SubjectsLen; ++i) have.emplace_back(info->Config->Subjects[i]);
    std::sort(have.begin(), have.end());
    std::vector<std::string> sorted = want;
    std::sort(sorted.begin(), sorted.end());
    if (have == sorted) return core::Status::Ok();
    return core::Status::Error("nats: stream " + name + " exists with other subjects than partitions " +
                               std::to_string(index) + ", " + std::to_string(index + settings.streams) +
                               "... of nats.streams " + std::to_string(settings.streams) + " and nats.partitions " +
                               std::to_string(settings.partitions) +
                               " need; changing either needs the migration in docs/cluster.md "
                               "(\"Changing nats.streams\")");
  }
  if (s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr) {
    return StartError("looking up stream " + name, s, jerr);
  }
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  std::vector<const char*> subjects;
  for (const std::string& subject : want) subjects.push_back(subject.c_str());
  cfg.Name = name.c_str();
  cfg.Subjects = subjects.data();
  cfg.SubjectsLen = static_cast<int>(subjects.size());
  cfg.Storage = js_FileStorage;
  cfg.Replicas = settings.replicas;
  cfg.MaxAge = static_cast<int64_t>(settings.max_age_s * 1e9);
  // Producers retry publishes with a Nats-Msg-Id; duplicates inside this
  // window are dropped by the server.
  cfg.Duplicates = static_cast<int64_t>(120e9);
  s = js_AddStream(&info, js_.get(), &cfg, nullptr, &jerr);
  if (s != NATS_OK && jerr == JSStreamSubjectOverlapErr) {
    // Typically the stream of another nats.streams still holds the subjects.
    return core::Status::Error(NatsError("creating stream " + name, s, jerr) +
                               "; another stream holds these partitions' subjects: changing nats.streams needs "
                               "the migration in docs/cluster.md (\"Changing nats.streams\")");
  }
  if (s != NATS_OK) return StartError("creating stream " + name, s, jerr);
  NatsPtr<jsStreamInfo> owned(info);
  *created = true;
  return core::Status::Ok();
}

core::Status NatsLink::EnsureBucket(jsCtx* calls, const std::string& bucket, int replicas, int64_t ttl_ns,
                                   NatsPtr<kvStore>* out) {
  // Looked up and created with the general (patient) context; the handle
  // kept for the bucket's calls is then opened on `calls`.
  jsCtx* js = js_.get();
  kvStore* kv = nullptr;
  natsStatus s = js_KeyValue(&kv, js, bucket.c_str());
  if (s == NATS_NOT_FOUND) {
    kvConfig cfg;
    kvConfig_Init(&cfg);
    cfg.Bucket = bucket.c_str();
    cfg.History = 1;
    cfg.TTL = ttl_ns;
    cfg.Replicas = replicas;
    cfg.StorageType = js_FileStorage;
    s = js_CreateKeyValue(&kv, js, &cfg);
    if (s == NATS_NOT_FOUND) return BucketNotVisibleYet(bucket);
  }
  if (s != NATS_OK) return StartError("key-value bucket " + bucket, s);
  out->reset(kv);
  // An existing bucket keeps the TTL it was created with; a lease bucket
  // whose TTL is not lease_ttl would expire live leases or slow failover.
  kvStatus* status = nullptr;
  if (ttl_ns > 0 && kvStore_Status(&status, kv) == NATS_OK) {
    const int64_t have = kvStatus_TTL(status);
    kvStatus_Destroy(status);
    if (have != ttl_ns) {
      std::ostringstream msg;
      msg << "nats: key-value bucket " << bucket << " has a TTL of " << static_cast<double>(have) / 1e9
          << " s but nats.lease_ttl is " << static_cast<double>(ttl_ns) / 1e9
          << " s; delete the bucket (with no instance running) or set lease_ttl to its TTL";
      return core::Status::Error(msg.str());
    }
  }
  if (calls != js) {
    kv = nullptr;
    if (s = js_KeyValue(&kv, calls, bucket.c_str()); s != NATS_OK) {
      if (s == NATS_NOT_FOUND) return BucketNotVisibleYet(bucket);
      return StartError("key-value bucket " + bucket, s);
    }
    out->reset(kv);
  }
  return core::Status::Ok();
}

}  // namespace lstmad::daemon
