// The libraries Debian packages, served by the wallet front under /vendor/ from where the
// packages install them (node-qrcode-generator, libjs-chart.js). Each is a classic script that
// defines one global; it is loaded once, on first use, and a failed load may be retried.

const loading = new Map();

/** Loads the classic script `src` once; resolves to the global `name` it defines. */
export function loadVendorScript(src, name, what) {
  if (globalThis[name]) return Promise.resolve(globalThis[name]);
  if (!loading.has(src)) {
    const p = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.async = true;
      script.onload = () => (globalThis[name] ? resolve(globalThis[name]) : reject(new Error(`${src} did not define ${name}`)));
      script.onerror = () => reject(new Error(`the ${what} (${src}) is not available on this server`));
      document.head.append(script);
    });
    loading.set(src, p);
    p.catch(() => { loading.delete(src); });
  }
  return loading.get(src);
}
