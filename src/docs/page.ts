// GET /_tollgate/docs: a self-contained reference page (no CDN) that renders openapi.json.
export function docsPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tollgate API reference</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
code,pre{background:#f4f4f4;padding:.1rem .3rem;border-radius:3px}h2{border-top:1px solid #ddd;padding-top:1rem}
.m{display:inline-block;min-width:4.5rem;font-weight:600}</style></head>
<body><h1>Tollgate API reference</h1><p>Generated from <a href="/_tollgate/openapi.json">openapi.json</a>.</p>
<div id="ops">Loading…</div>
<script>
fetch('/_tollgate/openapi.json').then(r=>r.json()).then(doc=>{
  const out=[];
  for(const [path,item] of Object.entries(doc.paths)){
    for(const [method,op] of Object.entries(item)){
      const codes=Object.entries(op.responses||{}).map(([k,v])=>k+' '+(v.description||'')).join(' · ');
      out.push('<h2><span class="m">'+method.toUpperCase()+'</span><code>'+path+'</code></h2><p>'+(op.summary||'')+'</p><p><small>'+codes+'</small></p>');
    }
  }
  document.getElementById('ops').innerHTML=out.join('');
});
</script></body></html>`;
}
