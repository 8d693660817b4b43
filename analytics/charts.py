"""Plotly figures of the dashboards, as JSON for plotly.js (served from our static files)."""

import calendar

import plotly.graph_objects as go
import plotly.io as pio

BLUE, GREEN, ORANGE = "#0d6efd", "#198754", "#fd7e14"
LAYOUT = {
    "margin": {"l": 48, "r": 16, "t": 36, "b": 40},
    "height": 300,
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "font": {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12},
    "legend": {"orientation": "h", "y": -0.2},
    "xaxis": {"gridcolor": "#eee"},
    "yaxis": {"gridcolor": "#eee", "rangemode": "tozero"},
}


def to_json(figure: go.Figure) -> str:
    # safe inside <script type="application/json">
    return pio.to_json(figure, validate=False).replace("</", "<\\/")


def money_and_count(
    x: list, money: list, count: list, *, money_name: str, count_name: str, currency: str, title: str
) -> str:
    """Bars of money on the left axis, a line of a count on the right."""
    figure = go.Figure(layout={**LAYOUT, "title": {"text": title}})
    figure.add_bar(
        x=x,
        y=[float(v) for v in money],
        name=f"{money_name} ({currency})",
        marker_color=BLUE,
        hovertemplate="%{x}<br>%{y:,.2f} " + currency + "<extra></extra>",
    )
    figure.add_scatter(
        x=x, y=count, name=count_name, yaxis="y2", mode="lines+markers", line={"color": ORANGE}, marker={"size": 4}
    )
    figure.update_layout(
        yaxis2={"overlaying": "y", "side": "right", "rangemode": "tozero", "showgrid": False, "tickformat": ",d"}
    )
    return to_json(figure)


def daily_sales(days: list[dict], currency: str, title: str = "Daily sales") -> str:
    return money_and_count(
        [d["date"].isoformat() for d in days],
        [d["total_sales"] for d in days],
        [d["total_transactions"] for d in days],
        money_name="Sales",
        count_name="Transactions",
        currency=currency,
        title=title,
    )


def daily_points(days: list[dict], title: str = "Points issued and redeemed") -> str:
    dates = [d["date"].isoformat() for d in days]
    figure = go.Figure(layout={**LAYOUT, "title": {"text": title}, "barmode": "group"})
    figure.add_bar(x=dates, y=[d["points_issued"] for d in days], name="Issued", marker_color=GREEN)
    figure.add_bar(x=dates, y=[d["points_redeemed"] for d in days], name="Redeemed", marker_color=ORANGE)
    return to_json(figure)


def weekday_hour(counts: dict[tuple[int, int], int], title: str = "Visits by weekday and hour") -> str:
    hours = list(range(24))
    weekdays = list(range(1, 8))
    z = [[counts.get((weekday, hour), 0) for hour in hours] for weekday in weekdays]
    figure = go.Figure(layout={**LAYOUT, "title": {"text": title}, "yaxis": {"autorange": "reversed"}})
    figure.add_heatmap(
        z=z,
        x=[f"{h:02d}:00" for h in hours],
        y=[calendar.day_abbr[w - 1] for w in weekdays],
        colorscale="Blues",
        hovertemplate="%{y} %{x}: %{z} visits<extra></extra>",
    )
    return to_json(figure)


def customer_activity(months: list[dict], currency: str, title: str = "Visits and spend") -> str:
    return money_and_count(
        [m["month"].strftime("%b %Y") for m in months],
        [m["spent"] for m in months],
        [m["visits"] for m in months],
        money_name="Spend",
        count_name="Visits",
        currency=currency,
        title=title,
    )
