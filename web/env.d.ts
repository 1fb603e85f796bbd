/// <reference types="vite/client" />

/** Set by web/vite.config.ts: onnxruntime-web's wasm size in bytes before transfer compression. */
declare const __ORT_WASM_BYTES__: number;

declare module 'virtual:demo-data' {
  /** The demo's test images and labels as IDX files (web/build-plugins.ts). */
  const data: { images: { url: string; bytes: number }; labels: { url: string; bytes: number } };
  export default data;
}
