# bench/chart.gp -- bar chart of bench/results/chart.dat (called by bench/run)
#   gnuplot -e "term='png'; datafile='chart.dat'; outfile='chart.png'" chart.gp
# columns: "label" p50 p95 group (0 = one worker, 1 = 8 workers at once)
eval sprintf("set terminal %s noenhanced", term)
set output outfile
set title "pg_mint benchmark: time until a worker has a fresh database (bars: p50, whiskers: p95; log scale)"
set ylabel "milliseconds"
set logscale y
stats datafile using 3 nooutput
set yrange [0.1:STATS_max * 3]
set grid ytics mytics lc rgb "#dddddd"
set style fill solid 0.85 border -1
set boxwidth 0.7
set xtics rotate by 30 right nomirror
set bmargin 9
set key top left
set xrange [-0.7:*]
plot datafile using 0:($4 == 0 ? $2 : 1/0):xtic(1) with boxes lc rgb "#4a7ebb" title "one worker", \
     ''       using 0:($4 == 1 ? $2 : 1/0):xtic(1) with boxes lc rgb "#d9822b" title "8 workers at once (wall time until all 8 are done)", \
     ''       using 0:($4 == 2 ? $2 : 1/0):xtic(1) with boxes lc rgb "#c0392b" title "runs failed (time until the error)", \
     ''       using 0:2:(0):($3 - $2) with vectors nohead lc rgb "black" notitle, \
     ''       using 0:3:($2 >= 100 ? sprintf("%.0f", $2) : sprintf("%.3g", $2)) with labels offset 0,0.7 font ",8" notitle
