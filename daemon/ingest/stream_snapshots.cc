#include "ingest/stream_snapshots.h"

#include <memory>

namespace lstmad::daemon {

StreamSnapshot SaveStream(const StreamTable& table, const StreamStates& states, uint32_t id,
                          const std::string& model) {
  StreamSnapshot s = table.Save(id, model);
  if (const StreamScoringState* scored = states.Find(id)) {
    s.firing = scored->alert.firing();
    s.alert_run = scored->alert.run();
    s.alert_accepted = scored->alert.firing() && scored->alert.accepted();
    if (scored->detector) {
      s.detector_state = scored->detector->SaveState();
      s.model_fingerprint = scored->detector_fingerprint;
    }
    if (scored->alert.firing() && scored->fired) s.fired = *scored->fired;
  }
  return s;
}

void LoadStream(const StreamSnapshot& s, uint32_t id, StreamTable* table, StreamStates* states) {
  table->Load(id, s);
  if (!s.firing && s.alert_run <= 0) return;
  StreamScoringState* scored = states->GetOrCreate(id, s.key);
  scored->alert.Restore(s.firing, s.alert_run, s.firing && s.alert_accepted);
  if (s.firing && s.fired) scored->fired = std::make_shared<const AlertEvent>(*s.fired);
}

}  // namespace lstmad::daemon
