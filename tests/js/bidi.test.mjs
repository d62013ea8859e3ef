// Direction controls in model text: found, named and taken out of copied code.
import { test } from "node:test";
import assert from "node:assert/strict";

import { bidiLabel, bidiParts, countBidi, hasBidi, withoutBidi } from "../../web/static/markup/bidi.js";

const RLO = "\u202E";
const PDF = "\u202C";
const LRI = "\u2066";
const PDI = "\u2069";

test("a right-to-left override in a link's text is cut out on its own, with its name", () => {
  // The attack: "[\u202Emoc.knab.ti](https://evil.example)" reads "ti.bank.com" and reverses
  // the "(evil.example)" label after it.
  assert.deepEqual(bidiParts(`${RLO}moc.knab.ti`), [{ control: RLO, name: "RLO" }, "moc.knab.ti"]);
  assert.deepEqual(bidiParts(`a${RLO}b${PDF}c`), ["a", { control: RLO, name: "RLO" }, "b", { control: PDF, name: "PDF" }, "c"]);
  assert.deepEqual(bidiParts("plain text"), ["plain text"]);
  assert.equal(bidiLabel(RLO), "U+202E RLO");
});

test("every control of Trojan Source is found, and the marks of direction too", () => {
  const controls = "\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069\u200E\u200F\u061C";
  assert.equal(countBidi(controls), 12);
  assert.equal(bidiParts(controls).filter((part) => typeof part !== "string").length, 12);
  assert.ok(bidiParts(controls).every((part) => typeof part.name === "string" && part.name.length === 3));
  assert.equal(hasBidi("if (isAdmin) { return; }"), false);
  assert.equal(hasBidi("שלום world"), false); // right-to-left letters are not controls
});

test("code copied without its controls reads as it runs", () => {
  // Trojan Source: the comment hides the code that runs after it.
  const code = `/*${RLO} } ${LRI}if (isAdmin)${PDI} ${LRI} begin admins only */`;
  assert.equal(countBidi(code), 4);
  assert.equal(withoutBidi(code), "/* } if (isAdmin)  begin admins only */");
  assert.equal(hasBidi(withoutBidi(code)), false);
});
