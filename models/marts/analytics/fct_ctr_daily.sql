with

impressions as (

    select * from {{ ref('fct_impressions') }}

),

daily as (

    select
        served_date,
        variant,
        model_version,
        count(*) as impressions,
        sum(cast(is_clicked as int)) as clicks,
        sum(cast(is_watched as int)) as watches
    from impressions
    group by served_date, variant, model_version

),

final as (

    select
        served_date,
        variant,
        model_version,
        impressions,
        clicks,
        watches,
        clicks / impressions as ctr,
        watches / impressions as watch_rate,
        {{ wilson_bounds('clicks', 'impressions') }}
    from daily

)

select * from final
