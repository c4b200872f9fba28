"""Home-care service supervision (居家上门服务监管): the registry of elders, providers and caregivers, signed-in
visits, the rules that count them, follow-up calls, complaints and the fraud signals the bureau asks about."""
