// The live page served at GET / of stats.http: one self-contained HTML file (no external assets).
#pragma once

#include <string_view>

namespace sluice {

// Polls /stats and /buckets every second and keeps the last ten minutes in
// the browser: throughput, per-stage p50/p99 over the last 10 s (from the
// differences of /buckets' cumulative counts, with the histogram's own
// bucket geometry), lag, and a table of the latest /stats numbers (raw
// values in data-value attributes, so a test can compare them with /stats).
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
<div class="chart"><h2>p99 by stage (last 10 s)</h2><svg id="chart-p99"></svg><div class="legend" id="legend-p99"></div></div>
<div class="chart"><h2>p50 by stage (last 10 s)</h2><svg id="chart-p50"></svg><div class="legend" id="legend-p50"></div></div>
<div class="chart"><h2>Consumer lag (events)</h2><svg id="chart-lag"></svg><div class="legend" id="legend-lag"></div></div>
</div>
<h2>Latency by stage (since start; the last two columns: the last 10 s)</h2>
<table id="stages"><thead><tr><th>stage</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>p50 10 s</th><th>p99 10 s</th></tr></thead><tbody></tbody></table>
<script>
"use strict";
const keep = 600, window_polls = 10, history = [], buckets = [], colors = ["#1f77b4","#d62728","#2ca02c","#ff7f0e","#9467bd","#8c564b","#e377c2","#7f7f7f","#bcbd22","#17becf"];
function ns(v){if(v>=1e9)return (v/1e9).toFixed(2)+" s";if(v>=1e6)return (v/1e6).toFixed(2)+" ms";if(v>=1e3)return (v/1e3).toFixed(1)+" µs";return v+" ns";}
// The histogram's geometry (2048 sub-buckets, 1024 per half): a bucket's highest value.
function highest(i){const b=i<2048?0:Math.floor(i/1024)-1;return (i-b*1024)*2**b+2**b-1;}
// Percentiles of what was recorded between two cumulative bucket lists.
function windowed(now,then,ps){
  const before=new Map();for(let k=0;k+1<(then||[]).length;k+=2)before.set(then[k],then[k+1]);
  const d=[];let total=0;for(let k=0;k+1<now.length;k+=2){const c=now[k+1]-(before.get(now[k])||0);if(c>0){d.push([now[k],c]);total+=c;}}
  const out={count:total};for(const p of ps){out[p]=0;if(!total)continue;const rank=Math.max(1,Math.ceil(p/100*total-1e-9));let seen=0;
    for(const [i,c] of d){seen+=c;if(seen>=rank){out[p]=highest(i);break;}}}
  return out;
}
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
    const [r,rb]=await Promise.all([fetch("/stats",{cache:"no-store"}),fetch("/buckets",{cache:"no-store"})]);
    const s=await r.json(),bk=(await rb.json()).stages,t=performance.now()/1000;
    buckets.push(bk);while(buckets.length>window_polls+1)buckets.shift();
    // The first update has no earlier one: its window is since the start.
    const then=buckets.length>1?buckets[0]:{};
    const win={};for(const n of Object.keys(bk))win[n]=windowed(bk[n],then[n]||[],[50,99]);
    const prev=history.length?history[history.length-1]:null;
    const rate=prev&&t>prev.t?(s.source.consumed-prev.s.source.consumed)/(t-prev.t):0;
    history.push({t,s,rate,win});while(history.length>keep)history.shift();
    document.getElementById("status").textContent="";
    set("uptime",s.uptime_s,s.uptime_s.toFixed(0)+" s");set("consumed",s.source.consumed);set("rate",Math.round(rate));
    set("dead_lettered",s.source.dead_lettered);set("lag",s.totals.lag);set("replay_exposure",s.totals.replay_exposure);set("commits",s.commit.commits);
    const rows=Object.entries(s.latency_ns).map(([n,v])=>`<tr id="stage-${n}"><td>${n}</td>`+["count","p50","p90","p99","p999","max"].map(k=>
      `<td class="${k}" data-value="${v[k]}">${k==="count"?v[k]:ns(v[k])}</td>`).join("")+
      [50,99].map(q=>{const x=win[n]||{},w=x[q]||0;return `<td class="window_p${q}" data-value="${w}">${x.count?ns(w):"–"}</td>`;}).join("")+"</tr>").join("");
    document.querySelector("#stages tbody").innerHTML=rows;
    const stages=Object.keys(s.latency_ns);
    plot("rate",[{name:"consumed",points:history.map(p=>[p.t,p.rate])}],num);
    for(const q of [99,50])plot("p"+q,stages.map(n=>({name:n,points:history.map(p=>[p.t,(p.win[n]||{})[q]||0])})),ns);
    plot("lag",[{name:"lag",points:history.map(p=>[p.t,p.s.totals.lag])},{name:"replay exposure",points:history.map(p=>[p.t,p.s.totals.replay_exposure])}],num);
    document.body.dataset.updates=String(Number(document.body.dataset.updates||0)+1);
  }catch(e){document.getElementById("status").textContent="cannot read /stats: "+e;}
}
tick();setInterval(tick,1000);
</script></body></html>
)html";

}  // namespace sluice
