// What the API shows of a snapshot: the body nodes get, secrets redacted (see @berth/protocol's redactSecrets).
import { REDACTED, redactSecrets, type Snapshot } from '@berth/protocol';

export { REDACTED };

export function redactSnapshot(snapshot: Snapshot): Snapshot {
  return { ...snapshot, body: redactSecrets(snapshot.body) };
}
