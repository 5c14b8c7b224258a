// `import source from './x.js?worker'`: the bundled source of a web worker
// entry, as a string (scripts/build.mjs inlines it).
declare module '*?worker' {
  const source: string;
  export default source;
}
