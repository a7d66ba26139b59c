/**
 * What a reader sees in every notebook, checked without running it: code lines fit the cell (≤ 100 characters, so
 * nothing runs past the cell's edge in the Notebook UI), and the text speaks of the lab, not of how it was built
 * (no issue numbers).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";

const DIR = path.resolve(__dirname, "..", "..", "notebooks");
const MAX = 100;

describe("notebooks: readable code and text", () => {
  const names = fs.readdirSync(DIR).filter((f) => f.endsWith(".ipynb")).sort();
  it("finds the notebooks", () => assert.ok(names.length >= 9, names.join(", ")));
  for (const name of names) {
    it(`${name}: code lines ≤ ${MAX} characters, no issue numbers`, () => {
      const nb = JSON.parse(fs.readFileSync(path.join(DIR, name), "utf8")) as { cells: { cell_type: string; source: string[] | string }[] };
      const long: string[] = [];
      const issues: string[] = [];
      nb.cells.forEach((c, i) => {
        const src = Array.isArray(c.source) ? c.source.join("") : c.source;
        if (c.cell_type === "code") {
          for (const line of src.split("\n")) if ([...line].length > MAX) long.push(`cell ${i} (${[...line].length}): ${line.slice(0, 60)}…`);
        }
        const m = /\bissues?\s*#?\d+/i.exec(src);
        if (m) issues.push(`cell ${i}: "${m[0]}"`);
      });
      assert.deepEqual(long, [], `lines over ${MAX} characters:\n${long.join("\n")}`);
      assert.deepEqual(issues, [], `issue numbers in reader-facing text:\n${issues.join("\n")}`);
    });
  }
});
