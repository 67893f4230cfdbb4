"""The campaign's figures for the Conflict Minerals Report (RCOI and due-diligence results) and exports."""
