// The live page served at GET / of stats.http: one self-contained HTML file (no external assets).
#pragma once

#include <string_view>

namespace sluice {

// Polls /stats every second and keeps the last ten minutes in the browser:
// throughput, per-stage latency percentiles (as /stats reports them: since
// the start), lag, and a table of the latest numbers (raw values in
// data-value attributes, so a test can compare them with /stats).
inline constexpr std::string_view live_page_html = R"html(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>sluice live</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:16px;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 8px} h2{font-size:15px;margin:16px 0 4px}
.kpis{display:flex;flex-wrap:wrap;gap:12px}.kpi{background:#fff;border:1px solid #ddd;border-radius:6px;padding:6px 12px}
.kpi b{display:block;font-size:20px} .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:12px}
.chart{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px} svg{width:100%;height:200px}
table{border-collapse:collapse;background:#fff} td,th{border:1px solid #ddd;padding:3px 8px;text-align:right} th:first-child,td:first-child{text-align:left}
#status{color:#a00} .legend{display:flex;flex-wrap:wrap;gap:2px 12px} .legend span{white-space:nowrap}
</style></head><body>
<h1>sluice live</h1><div id="status">connecting to /stats ...</div>
<div class="kpis">
<div class="kpi">uptime<b id="uptime" data-value="">-</b></div>
<div class="kpi">consumed<b id="consumed" data-value="">-</b></div>
<div class="kpi">events/s<b id="rate" data-value="">-</b></div>
<div class="kpi">dead-lettered<b id="dead_lettered" data-value="">-</b></div>
<div class="kpi">lag<b id="lag" data-value="">-</b></div>
<div class="kpi">replay exposure<b id="replay_exposure" data-value="">-</b></div>
<div class="kpi">commits<b id="commits" data-value="">-</b></div>
</div>
<div class="grid">
<div class="chart"><h2>Throughput (events/s)</h2><svg id="chart-rate"></svg><div class="legend" id="legend-rate"></div></div>
<div class="chart"><h2>p99 by stage (since start)</h2><svg id="chart-p99"></svg><div class="legend" id="legend-p99"></div></div>
<div class="chart"><h2>p50 by stage (since start)</h2><svg id="chart-p50"></svg><div class="legend" id="legend-p50"></div></div>
<div class="chart"><h2>Consumer lag (events)</h2><svg id="chart-lag"></svg><div class="legend" id="legend-lag"></div></div>
</div>
<h2>Latency by stage (since start)</h2>
<table id="stages"><thead><tr><th>stage</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr></thead><tbody></tbody></table>
<script>
"use strict";
const keep = 600, history = [], colors = ["#1f77b4","#d62728","#2ca02c","#ff7f0e","#9467bd","#8c564b","#e377c2","#7f7f7f","#bcbd22","#17becf"];
function ns(v){if(v>=1e9)return (v/1e9).toFixed(2)+" s";if(v>=1e6)return (v/1e6).toFixed(2)+" ms";if(v>=1e3)return (v/1e3).toFixed(1)+" µs";return v+" ns";}
function num(v){return v<10&&v%1?v.toFixed(1):String(Math.round(v));}
function set(id,value,text){const e=document.getElementById(id);e.dataset.value=value;e.textContent=text===undefined?value:text;}
function plot(id,series,fmt){
  const svg=document.getElementById("chart-"+id),w=svg.clientWidth||480,h=200,l=64,b=18,top=10;
  let max=0;for(const s of series)for(const p of s.points)max=Math.max(max,p[1]);if(max<=0)max=1;
  const t1=history.length?history[history.length-1].t:0,t0=history.length?history[0].t:0,span=Math.max(t1-t0,1);
  let out="";for(let i=0;i<=4;i++){const y=top+(h-b-top)*(1-i/4);out+=`<line x1="${l}" x2="${w}" y1="${y}" y2="${y}" stroke="#eee"/><text x="${l-4}" y="${y+4}" font-size="10" text-anchor="end">${fmt(max*i/4)}</text>`;}
  out+=`<text x="${l}" y="${h-4}" font-size="10">${Math.round(span)} s ago</text><text x="${w}" y="${h-4}" font-size="10" text-anchor="end">now</text>`;
  series.forEach((s,i)=>{const pts=s.points.map(p=>`${(l+(w-l)*(p[0]-t0)/span).toFixed(1)},${(top+(h-b-top)*(1-p[1]/max)).toFixed(1)}`).join(" ");
    out+=`<polyline fill="none" stroke="${colors[i%colors.length]}" stroke-width="1.5" points="${pts}"/>`;});
  svg.innerHTML=out;
  document.getElementById("legend-"+id).innerHTML=series.map((s,i)=>`<span style="color:${colors[i%colors.length]}">&#9632; ${s.name}</span>`).join("");
}
async function tick(){
  try{
    const r=await fetch("/stats",{cache:"no-store"});const s=await r.json();const t=performance.now()/1000;
    const prev=history.length?history[history.length-1]:null;
    const rate=prev&&t>prev.t?(s.source.consumed-prev.s.source.consumed)/(t-prev.t):0;
    history.push({t,s,rate});while(history.length>keep)history.shift();
    document.getElementById("status").textContent="";
    set("uptime",s.uptime_s,s.uptime_s.toFixed(0)+" s");set("consumed",s.source.consumed);set("rate",Math.round(rate));
    set("dead_lettered",s.source.dead_lettered);set("lag",s.totals.lag);set("replay_exposure",s.totals.replay_exposure);set("commits",s.commit.commits);
    const rows=Object.entries(s.latency_ns).map(([n,v])=>`<tr id="stage-${n}"><td>${n}</td>`+["count","p50","p90","p99","p999","max"].map(k=>
      `<td class="${k}" data-value="${v[k]}">${k==="count"?v[k]:ns(v[k])}</td>`).join("")+"</tr>").join("");
    document.querySelector("#stages tbody").innerHTML=rows;
    const stages=Object.keys(s.latency_ns);
    plot("rate",[{name:"consumed",points:history.map(p=>[p.t,p.rate])}],num);
    for(const q of ["p99","p50"])plot(q,stages.map(n=>({name:n,points:history.map(p=>[p.t,(p.s.latency_ns[n]||{})[q]||0])})),ns);
    plot("lag",[{name:"lag",points:history.map(p=>[p.t,p.s.totals.lag])},{name:"replay exposure",points:history.map(p=>[p.t,p.s.totals.replay_exposure])}],num);
    document.body.dataset.updates=String(Number(document.body.dataset.updates||0)+1);
  }catch(e){document.getElementById("status").textContent="cannot read /stats: "+e;}
}
tick();setInterval(tick,1000);
</script></body></html>
)html";

}  // namespace sluice
