// Import rules of the lab (docs/DESIGN.md, "Modules"), checked by `npm test` (`npm run deps`):
//  - src/lib's folders are layers: a folder imports only from folders above it in DESIGN.md's table;
//  - no cycles anywhere under src/ (type-only imports and lazy require() calls included);
//  - the library never imports src/viz, src/cli, src/release (release tooling) or scripts/.
const LAYERS = ["runtime", "diffusion", "coords", "data", "operators", "config", "nn", "eval", "pipelines", "experiments"];

const layerRules = LAYERS.slice(0, -1).map((folder, i) => ({
  name: `layer-${folder}`,
  comment: `src/lib/${folder}/ imports only from the folders above it (${LAYERS.slice(0, i).join(", ") || "none"})`,
  severity: "error",
  from: { path: `^src/lib/${folder}/` },
  to: { path: `^src/lib/(${LAYERS.slice(i + 1).join("|")})/` },
}));

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "a cycle makes load order matter and the layers meaningless",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "lib-is-a-library",
      comment: "src/lib never imports the views, the CLI, release tooling or scripts",
      severity: "error",
      from: { path: "^src/lib/" },
      to: { path: "^(src/(viz|cli|release)/|scripts/)" },
    },
    {
      name: "lib-files-in-folders",
      comment: "src/lib/index.ts and browser.ts (the browser entry point) are the only loose files; everything else belongs to a layer folder",
      severity: "error",
      from: { path: "^src/lib/[^/]+[.]ts$", pathNot: "^src/lib/(index|browser)[.]ts$" },
      to: {},
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|dist)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    // the package's own name resolves to src/lib (tsconfig paths), so imports by name are checked like relative ones
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["require", "node", "default"] },
  },
};
