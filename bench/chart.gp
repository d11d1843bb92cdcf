# bench/chart.gp -- p50 vs template size per method, one panel per configuration
# (called by bench/run):
#   gnuplot -e "term='png'; datafile='chart.dat'; outfile='chart.png'; panels='defaults,test'" chart.gp
# chart.dat (bench/report.py): one block per configuration, in the order of
# panels; columns: size_mb, then the p50 (ms) of each method (NaN = not measured)
eval sprintf("set terminal %s noenhanced", term)
set output outfile
if (!exists("panels")) panels = "defaults,test"
n = strlen(panels) - strlen(system(sprintf("printf %%s '%s' | tr -d ,", panels))) + 1
titles = "'floor CREATE wal_log' 'floor CREATE file_copy' 'mint.clone replacing' 'mint.clone, new connection' 'mint.clone pool hit' 'pgtestdb' 'Django 3.2 _clone_test_db' 'client-side recipe' 'suite: wait p50, warm pool' 'suite: wait p50, mint.clone per test'"
colors = "#1f4e9c #7fa7e0 #2e9e44 #b8860b #e6b800 #c0392b #8e44ad #555555 #e67e22 #16a085"
panel(i) = system(sprintf("printf %%s '%s' | cut -d, -f%d", panels, i))
ptitle(i) = panel(i) eq "defaults" ? "server defaults (fsync=on, synchronous_commit=on)" : \
            panel(i) eq "test" ? "test settings (fsync=off, synchronous_commit=off)" : panel(i)
set datafile missing "NaN"
set logscale xy
set xlabel "template size (MB, pg_database_size)"
set ylabel "p50, milliseconds"
set grid xtics ytics mytics lc rgb "#dddddd"
set key at screen 0.995, 0.86 right top font ",9" spacing 1.1
set format y "%g"
set format x "%g"
set yrange [0.3:*]
set multiplot layout 1, n margins 0.06, 0.76, 0.11, 0.88 spacing 0.07 \
    title "pg_mint benchmark: time until a worker has a fresh database (p50, log-log)"
do for [i = 1:n] {
  set title ptitle(i)
  if (i < n) { unset key } else { set key }
  plot for [c = 2:11] datafile index (i - 1) using 1:c with linespoints lw 2 lc rgb word(colors, c - 1) pt (c % 7 + 1) \
       dt 1 + (c >= 10) title word(titles, c - 1)
}
unset multiplot
