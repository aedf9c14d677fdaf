import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { putEventsEntrySize } from "../../client/producer.js";
import { putEventsEntrySize as emulatorEntrySize } from "../../local/index.js";

describe("PutEvents entry size", () => {
  it("is computed by the SDK exactly as the local EventBridge emulator enforces it", () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            Source: fc.string({ unit: "grapheme" }),
            DetailType: fc.string({ unit: "grapheme" }),
            Detail: fc.string({ unit: "grapheme", maxLength: 500 }),
            Resources: fc.array(fc.string({ unit: "grapheme" }), { maxLength: 3 }),
            Time: fc.date({ noInvalidDate: true }),
          },
          { requiredKeys: ["Source", "DetailType"] },
        ),
        (entry) => {
          const { Time, ...rest } = entry;
          const wire = Time === undefined ? rest : { ...rest, Time: Time.getTime() / 1000 };
          expect(putEventsEntrySize(entry)).toBe(emulatorEntrySize(wire));
        },
      ),
    );
  });
});
