"""Pure figure builders: numpy results in, plotly Figures out, one theme."""
